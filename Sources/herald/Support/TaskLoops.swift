import NIOCore
import NIOPosix

/// The loops that run a cluster node's Swift tasks: NIO's shared group, installed as Swift
/// concurrency's global executor.
///
/// The node's Redis and PostgreSQL connections live on the same loops, so a task that sends
/// a command resumes with its reply on the thread that read it, instead of each `await`
/// waking a thread of Swift's own pool: a cross-node push is a chain of such awaits (the
/// directory's lookup, the bus's publish, the subscriber's hand-over), and on a busy machine
/// every wake-up may wait for a time slice. The gateway's loops are a group of their own, so
/// a fan-out pass over thousands of sockets never holds a task back, and the API has its own
/// loop. A single node has no such chain and keeps Swift's own pool: there its stored pushes
/// measured about a tenth slower on the loops (docs/architecture.md, "Threads").
enum TaskLoops {
    /// Gives the shared group `count` loops instead of one per core. Must run before anything
    /// uses the group, once per process.
    static func size(_ count: Int) {
        NIOSingletons.groupLoopCountSuggestion = count
    }

    /// Makes the shared group Swift concurrency's global executor, once per process; returns
    /// false if NIO could not install it (tasks then run on Swift's own pool).
    static func install() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
