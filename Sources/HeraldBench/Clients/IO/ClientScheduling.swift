/// The Linux scheduling policy of the bench clients' threads.
///
/// The clients stand in for devices on other machines, which never take a core from the
/// server. On one machine they do: every write of a broadcast wakes the client thread that
/// owns the socket, and a thread just woken preempts whatever runs on its core, often one of
/// the server's event loops in the middle of its fan-out. Under `batch` (SCHED_BATCH) a woken
/// client waits for the running thread's time slice instead; it still gets its fair share of
/// the cores, so the clients are no faster or slower, only less disruptive.
public enum ClientScheduling: String, Sendable, Codable, Hashable, CaseIterable {
    /// SCHED_BATCH: fair share, no preemption on wake-up (the default).
    case batch
    /// SCHED_OTHER, as any process: a woken client preempts the server.
    case normal

    /// The policy's name in Linux.
    public var policyName: String {
        switch self {
        case .batch: "SCHED_BATCH"
        case .normal: "SCHED_OTHER"
        }
    }
}
