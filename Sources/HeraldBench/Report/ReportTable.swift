/// The final table `herald-bench` prints on stdout.
public enum ReportTable {
    /// Width of the label column.
    static let labelWidth = 42

    /// The whole table, lines ending in `\n`.
    public static func render(_ report: BenchReport) -> String {
        var lines: [String] = []
        let settings = report.settings
        let transport = settings.transport == .tcp ? "TCP" : "WebSocket"
        let clientsText =
            settings.agents.isEmpty
            ? "\(settings.workers) worker\(settings.workers == 1 ? "" : "s")"
            : "\(report.agents.count) agents"
        lines.append(
            "herald-bench \(report.scenario.rawValue): \(Format.count(settings.connections)) \(transport) connections, "
                + "\(clientsText), \(report.endpoint), app \(report.app)"
        )
        if report.scenario.pushes {
            lines.append(Self.caseText(report))
        }
        lines.append("")

        let connect = report.connect
        var connectText =
            "\(Format.count(connect.authenticated))/\(Format.count(connect.attempted)) in "
            + "\(Format.fixed(connect.seconds, 2)) s (\(Format.count(Int(connect.connectionsPerSecond.rounded()))) /s)"
        if connect.failed > 0 { connectText += ", \(Format.count(connect.failed)) failed" }
        if connect.refusedBusy > 0 { connectText += ", \(Format.count(connect.refusedBusy)) refused busy" }
        lines.append(Self.row("connected and authenticated", connectText))
        if let cluster = report.cluster {
            lines.append(Self.row("clients per node (dispatch)", cluster.clientsText))
            if report.scenario.pushes {
                lines.append(Self.row("deliveries across nodes", cluster.crossNodeText))
            }
        }
        for figure in report.figures {
            lines.append(Self.row(figure.label, figure.formatted))
        }
        if let http = report.http {
            var text = "\(Format.count(http.succeeded)) ok"
            if http.failed > 0 {
                let statuses = http.statuses.filter { !$0.key.hasPrefix("2") }.sorted { $0.key < $1.key }
                    .map { "\($0.key): \(Format.count($0.value))" }.joined(separator: ", ")
                text += ", \(Format.count(http.failed)) failed (\(statuses))"
            }
            lines.append(Self.row("HTTP requests", text))
        }

        if !report.latency.isEmpty {
            lines.append("")
            let header = ["count", "p50", "p90", "p99", "p99.9", "max"]
            lines.append(
                Format.right("latency (ms)", 16) + Format.left(header[0], 12)
                    + header.dropFirst().map { Format.left($0, 10) }.joined()
            )
            for item in report.latency {
                let values = [item.p50Ms, item.p90Ms, item.p99Ms, item.p999Ms, item.maxMs]
                lines.append(
                    Format.right("  " + item.kind, 16) + Format.left(Format.count(item.count), 12)
                        + values.map { Format.left(Format.milliseconds($0), 10) }.joined()
                )
            }
        }

        lines.append("")
        lines.append(Self.row("server", Self.serverText(report)))
        lines.append(Self.row("clients", Self.clientText(report)))
        lines.append(Self.row("bottleneck", "\(report.bottleneck.side.rawValue): \(report.bottleneck.reason)"))
        for note in report.notes {
            lines.append(Self.row("note", note))
        }
        return lines.map { $0 + "\n" }.joined()
    }

    static func row(_ label: String, _ value: String) -> String {
        Format.right("  " + label, Self.labelWidth) + " " + value
    }

    /// The case a pushing run was: "case: ordinary publisher (publisher: one HTTP connection,
    /// 48 requests pipelined; clients: SCHED_OTHER)". The clients' scheduling is what the agents
    /// reported (agents elsewhere choose their own), else what the run asked for.
    static func caseText(_ report: BenchReport) -> String {
        var settings = report.settings
        let scheduling = Set(report.agents.compactMap(\.clientScheduling))
        let clients: String
        if scheduling.count > 1 {
            clients =
                "\(ClientScheduling.batch.policyName) on some agents, \(ClientScheduling.normal.policyName) on others"
        } else {
            settings.clientScheduling = scheduling.first ?? settings.clientScheduling
            clients = settings.clientScheduling.policyName
        }
        let name = scheduling.count > 1 ? "custom" : settings.presetMatched?.title ?? "custom"
        return "case: \(name) (publisher: \(settings.publisherDescription); clients: \(clients))"
    }

    static func serverText(_ report: BenchReport) -> String {
        let server = report.server
        var parts: [String] = []
        if let before = server.procResidentBefore ?? server.statsResidentBefore,
            let after = server.procResidentAfter ?? server.statsResidentAfter
        {
            parts.append("RSS \(Format.bytes(Double(before))) -> \(Format.bytes(Double(after)))")
        }
        if let peak = server.procResidentPeak ?? server.statsResidentPeak {
            parts.append("peak \(Format.bytes(Double(peak)))")
        }
        if let cpu = server.cpuSeconds {
            parts.append("CPU \(Format.fixed(cpu, 2)) s in \(Format.fixed(report.measuredSeconds, 2)) s")
        }
        if parts.isEmpty { return "not sampled (give --server-pid and --admin-key)" }
        return parts.joined(separator: ", ")
    }

    static func clientText(_ report: BenchReport) -> String {
        let agentCPU = report.agents.compactMap(\.cpuSeconds)
        var text = "\(report.agents.count) agent\(report.agents.count == 1 ? "" : "s")"
        if agentCPU.count == report.agents.count {
            text += ", CPU \(Format.fixed(agentCPU.reduce(0, +), 2)) s"
        }
        if let controller = report.controllerCPUSeconds {
            text += " + controller \(Format.fixed(controller, 2)) s"
        }
        let scheduling = Set(report.agents.compactMap(\.clientScheduling))
        if scheduling.count == 1, let only = scheduling.first {
            text += "; client threads \(only.policyName)"
        } else if scheduling.count > 1 {
            text +=
                "; client threads \(ClientScheduling.batch.policyName) on some agents, "
                + "\(ClientScheduling.normal.policyName) on others"
        }
        return text
    }
}
