/// The HTTP side of a run's measured part (an ``HTTPLoadReport`` without its histogram).
public struct HTTPFigures: Sendable, Codable, Hashable {
    public var sent: Int
    public var succeeded: Int
    public var failed: Int
    public var seconds: Double
    /// Answers by status; `error` for requests lost with their connection.
    public var statuses: [String: Int]
    /// Messages the succeeded requests carried (a batch request carries several).
    public var messages: Int

    /// The figures of `report`, whose requests each carried `messagesPerRequest` messages.
    public init(_ report: HTTPLoadReport, messagesPerRequest: Int) {
        self.sent = report.sent
        self.succeeded = report.succeeded
        self.failed = report.failed
        self.seconds = report.seconds
        self.statuses = report.statuses
        self.messages = report.succeeded * messagesPerRequest
    }
}
