/// The answer to `GET /v1/stats`.
struct NodeStatsResponse: Encodable, Sendable {
    var node: String
    var connections: Int
    var sessions: Int
    /// `null` when the platform does not tell the resident set size.
    var residentBytes: Int?
    var uptimeSeconds: Double
    var fanOutPasses: Int
    var longestFanOutSliceSeconds: Double

    private enum CodingKeys: String, CodingKey {
        case node, connections, sessions, residentBytes, uptimeSeconds, fanOutPasses, longestFanOutSliceSeconds
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.node, forKey: .node)
        try container.encode(self.connections, forKey: .connections)
        try container.encode(self.sessions, forKey: .sessions)
        // Always present, as the document says: null rather than missing.
        try container.encode(self.residentBytes, forKey: .residentBytes)
        try container.encode(self.uptimeSeconds, forKey: .uptimeSeconds)
        try container.encode(self.fanOutPasses, forKey: .fanOutPasses)
        try container.encode(self.longestFanOutSliceSeconds, forKey: .longestFanOutSliceSeconds)
    }
}
