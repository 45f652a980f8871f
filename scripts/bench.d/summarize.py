#!/usr/bin/env python3
"""Summarizes `herald bench --json` reports for scripts/bench: the median of each figure
over the runs of each scenario, as markdown rows, with the target it must reach.

    summarize.py NAME=report1.json,report2.json,... [NAME=...]
"""
import json
import statistics
import sys


def figure(key):
    def read(report):
        for item in report.get("figures", []):
            if item.get("key") == key:
                return item.get("value")
        return None
    return read


def latency(kind, field):
    def read(report):
        for item in report.get("latency", []):
            if item.get("kind") == kind:
                return item.get(field)
        return None
    return read


def cross_node_share(report):
    cluster = report.get("cluster") or {}
    deliveries, crossing = cluster.get("deliveries"), cluster.get("crossNode")
    if not deliveries or crossing is None:
        return None
    return crossing / deliveries


def clients_per_node(report):
    nodes = (report.get("cluster") or {}).get("nodes") or []
    if not nodes:
        return None
    return ", ".join(f"{node['node']} {node['clients']:,}" for node in nodes)


# scenario -> rows of (label, reader, unit, target text, check)
ROWS = {
    "idle-tcp": [
        ("server memory per connection (/proc)", figure("bytesPerConnection"), "B", "<= 3 KiB", lambda v: v <= 3072),
        ("server memory per connection (/v1/stats)", figure("bytesPerConnectionStats"), "B", "", None),
    ],
    "idle-ws": [
        ("server memory per connection (/proc)", figure("bytesPerConnection"), "B", "<= 4 KiB", lambda v: v <= 4096),
        ("server memory per connection (/v1/stats)", figure("bytesPerConnectionStats"), "B", "", None),
    ],
    "connect": [
        ("connections per second (accept + AUTH)", figure("connectionsPerSecond"), "/s", ">= 20,000", lambda v: v >= 20000),
        ("time to connect all", figure("connectSeconds"), "s", "", None),
        ("server CPU per connection", figure("serverMicrosecondsPerConnection"), "us", "", None),
        ("server accepts per core-second", figure("serverConnectionsPerCoreSecond"), "/s", "", None),
    ],
    "broadcast": [
        ("one broadcast: time until the last has it (median of the run's singles)", figure("allMs"), "ms", "< 200 ms", lambda v: v < 200),
        ("sustained deliveries per second", figure("deliveriesPerSecond"), "/s", ">= 1,500,000", lambda v: v >= 1_500_000),
        ("delivery p99 (sustained)", latency("broadcast", "p99Ms"), "ms", "", None),
    ],
    "topic": [
        ("one publish: time until the last has it", figure("allMs"), "ms", "", None),
        ("sustained deliveries per second", figure("deliveriesPerSecond"), "/s", "", None),
    ],
    "unicast": [
        ("QoS 0 pushes per second (batch API)", figure("pushesPerSecond"), "/s", ">= 50,000", lambda v: v >= 50_000),
        ("delivery p99", latency("user", "p99Ms"), "ms", "", None),
        ("delivery p99.9", latency("user", "p999Ms"), "ms", "", None),
    ],
    "unicast-half": [
        ("pushes per second (asked: half the target)", figure("pushesPerSecond"), "/s", "", None),
        ("delivery p99", latency("user", "p99Ms"), "ms", "< 5 ms", lambda v: v < 5),
        ("delivery p99.9 (no pauses)", latency("user", "p999Ms"), "ms", "< 20 ms", lambda v: v < 20),
        ("delivery max", latency("user", "maxMs"), "ms", "", None),
    ],
    "mixed-half": [
        ("unicast pushes per second (asked: half the target)", figure("pushesPerSecond"), "/s", "", None),
        ("unicast delivery p50", latency("user", "p50Ms"), "ms", "", None),
        ("unicast delivery p99", latency("user", "p99Ms"), "ms", "", None),
        ("unicast delivery p99.9", latency("user", "p999Ms"), "ms", "", None),
        ("broadcasts completed", figure("broadcasts"), "", "", None),
        ("broadcast deliveries per second", figure("broadcastDeliveriesPerSecond"), "/s", "", None),
    ],
    "qos1": [
        ("QoS 1 stored pushes per second (SQLite)", figure("pushesPerSecond"), "/s", ">= 10,000", lambda v: v >= 10_000),
        ("delivery p99", latency("user", "p99Ms"), "ms", "", None),
    ],
    # scripts/bench-cluster: three nodes, clients by dispatch, pushes to node a's API.
    "cluster-unicast": [
        ("cross-node QoS 0 pushes per second (batch API)", figure("pushesPerSecond"), "/s", ">= 30,000", lambda v: v >= 30_000),
        ("delivery p99", latency("user", "p99Ms"), "ms", "", None),
        ("deliveries across nodes", cross_node_share, "%", "", None),
        ("Redis commands per batch of 100", figure("redisCommandsPerRequest"), "x", "", None),
        ("clients per node (dispatch)", clients_per_node, "text", "", None),
    ],
    "cluster-unicast-half": [
        ("pushes per second (asked: half the target)", figure("pushesPerSecond"), "/s", "", None),
        ("delivery p99", latency("user", "p99Ms"), "ms", "<= 10 ms", lambda v: v <= 10),
        ("delivery p99.9", latency("user", "p999Ms"), "ms", "", None),
        ("delivery max", latency("user", "maxMs"), "ms", "", None),
        ("deliveries across nodes", cross_node_share, "%", "", None),
    ],
    "cluster-broadcast": [
        ("one broadcast over three nodes: time until the last has it", figure("allMs"), "ms", "<= 250 ms", lambda v: v <= 250),
        ("clients that got it", figure("reached"), "", "", None),
        ("back to back: deliveries per second", figure("deliveriesPerSecond"), "/s", "", None),
        ("delivery p99 (back to back)", latency("broadcast", "p99Ms"), "ms", "", None),
        ("deliveries across nodes", cross_node_share, "%", "", None),
        ("Redis commands per broadcast", figure("redisCommandsPerRequest"), "x", "", None),
    ],
    "cluster-idle": [
        ("Redis commands per AUTH", figure("redisCommandsPerAuth"), "x", "", None),
        ("Redis commands per second and node, idle", figure("redisCommandsPerSecondPerNode"), "x", "", None),
        ("Redis commands per heartbeat (at most)", figure("redisCommandsPerHeartbeat"), "x", "0 (< 0.01)", lambda v: v < 0.01),
    ],
    "storm": [
        ("time until all are back", figure("reconnectSeconds"), "s", "", None),
        ("refusals (server_busy)", figure("refusedBusy"), "", "", None),
        ("retries", figure("retries"), "", "", None),
        ("server peak RSS", figure("peakResidentBytes"), "B", "", None),
    ],
}


def show(value, unit):
    if value is None:
        return "-"
    if unit == "B":
        return f"{value / 1024:.2f} KiB" if abs(value) < 1024 * 1024 else f"{value / 1048576:.1f} MiB"
    if unit == "ms":
        # One decimal up to a second, so that a figure just under a target does not print as it.
        if value < 100:
            return f"{value:.3g} ms"
        return f"{value:.1f} ms" if value < 1000 else f"{value:.0f} ms"
    if unit == "us":
        return f"{value:.1f} µs"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "/s":
        return f"{value:,.0f} /s"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "x":
        return f"{value:.4g}"
    if unit == "text":
        return str(value)
    return f"{value:,.0f}"


def main(arguments):
    print("| scenario | figure | median | target | met | runs | bottleneck (median run) |")
    print("|---|---|---:|---|:---:|---|---|")
    for argument in arguments:
        name, _, paths = argument.partition("=")
        reports = []
        for path in paths.split(","):
            try:
                with open(path) as handle:
                    reports.append(json.load(handle))
            except (OSError, ValueError):
                pass
        if not reports:
            print(f"| {name} | (no report) | - | | | | |")
            continue
        for label, read, unit, target, check in ROWS.get(name, []):
            values = [read(report) for report in reports]
            present = [v for v in values if v is not None]
            if unit == "text":
                # Not a number: the first run's, as it was.
                median = present[0] if present else None
            else:
                median = statistics.median(present) if present else None
            met = "" if check is None or median is None else ("yes" if check(median) else "**no**")
            runs = " ".join(show(v, unit) for v in values) if unit != "text" else ""
            # The run whose value is the median tells which side limited it.
            side = ""
            if median is not None and unit != "text":
                chosen = min(range(len(values)), key=lambda i: abs((values[i] if values[i] is not None else 1e300) - median))
                bottleneck = reports[chosen].get("bottleneck", {})
                side = f"{bottleneck.get('side', '?')}: {bottleneck.get('reason', '')}"
            print(f"| {name} | {label} | {show(median, unit)} | {target} | {met} | {runs} | {side} |")


if __name__ == "__main__":
    main(sys.argv[1:])
