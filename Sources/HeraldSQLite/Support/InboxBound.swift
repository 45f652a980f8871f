/// When a user's inbox can be past its limit, without reading it.
enum InboxBound {
    /// A user's kept messages have distinct sequences from 1 to `last_seq`, so with `last_seq`
    /// within the limit none can be past it and the bound query need not run.
    static func mayBeExceeded(lastSequence: Int64, limit: Int) -> Bool {
        lastSequence > Int64(limit)
    }
}
