extension BenchSettings {
    /// How the controller publishes, in words for the report: "one HTTP connection, 48
    /// requests pipelined", "32 HTTP connections, one request in flight on each", or, for a run
    /// at a `rate`, "8 HTTP connections, requests sent as they fall due at --rate". Mixed's
    /// broadcasts always go back to back, and its unicasts have a connection of their own:
    /// "broadcasts on one HTTP connection, 48 requests pipelined, and unicasts on one more".
    public var publisherDescription: String {
        if self.scenario == .mixed {
            let broadcasts = Self.describe(connections: self.httpConnections, pipeline: self.pipeline, openLoop: false)
            return "broadcasts on \(broadcasts), and unicasts on one more"
        }
        return Self.describe(connections: self.httpConnections, pipeline: self.pipeline, openLoop: self.rate > 0)
    }

    /// `connections` HTTP connections that each keep `pipeline` requests in flight (closed
    /// loop) or send requests as they fall due (open loop).
    static func describe(connections: Int, pipeline: Int, openLoop: Bool) -> String {
        let one = connections == 1
        var text = one ? "one HTTP connection" : "\(Format.count(connections)) HTTP connections"
        if openLoop {
            text += ", requests sent as they fall due at --rate"
        } else if pipeline == 1 {
            text += one ? ", one request in flight" : ", one request in flight on each"
        } else {
            text += ", \(Format.count(pipeline)) requests pipelined" + (one ? "" : " on each")
        }
        return text
    }
}
