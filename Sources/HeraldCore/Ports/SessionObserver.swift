/// What the gateway tells about its sessions as they open and close, on the event loop of
/// the connection. A single node needs no observer (its gateway answers ``SessionLookup``
/// from the connections themselves); a cluster node's observer queues each change for the
/// shared ``SessionDirectory``, so both methods return at once.
public protocol SessionObserver: Sendable {
    /// A session got its AUTH_OK.
    func sessionOpened(_ session: SessionInfo)
    /// A session ended (closed, kicked, replaced, drained).
    func sessionClosed(_ session: SessionInfo)
}
