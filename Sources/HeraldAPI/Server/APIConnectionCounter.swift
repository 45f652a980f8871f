import NIOConcurrencyHelpers

/// The API's open connections, shared by the event loops that accept them.
final class APIConnectionCounter: Sendable {
    /// Most connections open at once.
    let limit: Int
    private let open = NIOLockedValueBox(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts a new connection if there is room; false when the cap is reached.
    func admit() -> Bool {
        self.open.withLockedValue { open in
            guard open < self.limit else { return false }
            open += 1
            return true
        }
    }

    /// Frees the slot of an admitted connection that closed.
    func release() {
        self.open.withLockedValue { $0 -= 1 }
    }
}
