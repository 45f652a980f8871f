import NIOConcurrencyHelpers

/// Lines appended by test doubles, in the order things happened.
final class EventLog: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])

    func append(_ line: String) {
        self.lines.withLockedValue { $0.append(line) }
    }

    var all: [String] { self.lines.withLockedValue { $0 } }
}
