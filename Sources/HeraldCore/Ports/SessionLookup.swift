/// Who is online: the read side of the session directory. A node answers it from its own
/// connections; a cluster answers it from a shared ``SessionDirectory``.
public protocol SessionLookup: Sendable {
    /// The online sessions of a user, oldest first.
    func sessions(app: String, user: String) async throws -> [SessionInfo]
    /// How many sessions and distinct users the app has online.
    func counts(app: String) async throws -> SessionCounts
}
