import CHeraldBenchIO
import Dispatch
import HeapModule
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One thread that waits in epoll for the sockets of its ``BenchConnection``s and runs tasks
/// and timers between: an `EventLoop`, so that the pool and its loop schedule, submit and
/// complete promises as they would on NIO's.
///
/// The bench's clients share the machine with the server they measure, so each costs as
/// little as it can: a connection is a socket and a ``BenchConnection``, with no channel,
/// pipeline or futures per connection. Its readiness is dispatched by descriptor, reads go
/// into one buffer per loop, and writes are made at once, waiting for `EPOLLOUT` only when
/// the socket's buffer is full. SwiftNIO's client channel cost about 20 µs of CPU more per
/// connection and made the bench's clients, not the server, set the connect rate.
///
/// Linux only (epoll): ``BenchClientPool`` refuses to make one elsewhere.
///
/// `@unchecked Sendable`: the task queue is behind its own lock; everything else is touched only
/// on the loop's thread (`inEventLoop`), or before the thread starts and after it ends.
final class BenchEventLoop: EventLoop, @unchecked Sendable {
    private struct Timer: Comparable {
        var deadline: UInt64
        var id: UInt64

        static func < (lhs: Timer, rhs: Timer) -> Bool {
            (lhs.deadline, lhs.id) < (rhs.deadline, rhs.id)
        }
    }

    /// A scheduled task: run when due, or failed when cancelled or when the loop ends first.
    private struct ScheduledWork {
        var run: @Sendable () -> Void
        var fail: @Sendable (any Error) -> Void
    }

    private struct Queue {
        var tasks: [@Sendable () -> Void] = []
        /// The eventfd has been written since the loop last took the queue.
        var woken = false
        var stopping = false
    }

    /// The epoll `data` of the wake-up eventfd; sockets use their descriptor.
    private static let wakeToken = UInt64.max
    private static let eventsPerWait = 512

    let name: String
    private let epoll: CInt
    private let wakeDescriptor: CInt
    private let queue = NIOLockedValueBox(Queue())
    private let started = ConditionLock(value: 0)
    private var thread: pthread_t?

    // Loop-confined.
    private var localTasks: [@Sendable () -> Void] = []
    private var timers = Heap<Timer>()
    private var timerTasks: [UInt64: ScheduledWork] = [:]
    private var nextTimerID: UInt64 = 0
    private var connections: [BenchConnection?] = []
    /// One receive buffer for every connection of the loop: a read takes it, and what a
    /// connection keeps of it (a partial frame) is copied out.
    private var receiveBuffer: ByteBuffer?

    private init(name: String, epoll: CInt, wakeDescriptor: CInt) {
        self.name = name
        self.epoll = epoll
        self.wakeDescriptor = wakeDescriptor
        self.receiveBuffer = ByteBufferAllocator().buffer(capacity: BenchConnection.readSize)
    }

    /// Starts a loop on a thread of its own, under `scheduling`.
    static func make(name: String, scheduling: ClientScheduling = .batch) throws(SystemCallError) -> BenchEventLoop {
        #if os(Linux)
            let epoll = epoll_create1(CInt(EPOLL_CLOEXEC))
            guard epoll >= 0 else { throw SystemCallError(operation: "epoll_create1", errno: errno) }
            let wake = eventfd(0, CInt(EFD_NONBLOCK | EFD_CLOEXEC))
            guard wake >= 0 else {
                Glibc.close(epoll)
                throw SystemCallError(operation: "eventfd", errno: errno)
            }
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.u64 = Self.wakeToken
            guard epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &event) == 0 else {
                Glibc.close(wake)
                Glibc.close(epoll)
                throw SystemCallError(operation: "epoll_ctl", errno: errno)
            }
            let loop = BenchEventLoop(name: name, epoll: epoll, wakeDescriptor: wake)
            try loop.startThread(scheduling: scheduling)
            return loop
        #else
            // Not reached: BenchClientPool refuses to start where there is no epoll.
            throw SystemCallError(operation: "epoll_create1", errno: ENOSYS)
        #endif
    }

    // MARK: EventLoop

    var inEventLoop: Bool {
        guard let thread = self.thread else { return false }
        return pthread_equal(pthread_self(), thread) != 0
    }

    func execute(_ task: @escaping @Sendable () -> Void) {
        if self.inEventLoop {
            self.localTasks.append(task)
            return
        }
        let wake = self.queue.withLockedValue { queue -> Bool in
            queue.tasks.append(task)
            defer { queue.woken = true }
            return !queue.woken
        }
        if wake { self.wakeUp() }
    }

    @discardableResult
    func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        let promise = self.makePromise(of: T.self)
        let id = NIOLockedValueBox<UInt64?>(nil)
        let work = ScheduledWork(
            run: {
                do {
                    // Runs on the loop, so a result that is not Sendable stays on it.
                    promise.assumeIsolated().succeed(try task())
                } catch {
                    promise.fail(error)
                }
            },
            fail: { promise.fail($0) }
        )
        let add: @Sendable () -> Void = {
            id.withLockedValue { $0 = self.addTimer(deadline: deadline.uptimeNanoseconds, work) }
        }
        if self.inEventLoop { add() } else { self.execute(add) }
        return Scheduled(promise: promise) {
            self.execute {
                guard let timer = id.withLockedValue({ $0 }), let work = self.timerTasks.removeValue(forKey: timer)
                else { return }
                work.fail(EventLoopError.cancelled)
            }
        }
    }

    @discardableResult
    func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        self.scheduleTask(deadline: .now() + delay, task)
    }

    func preconditionInEventLoop(file: StaticString, line: UInt) {
        precondition(self.inEventLoop, "not on \(self.name)", file: file, line: line)
    }

    func preconditionNotInEventLoop(file: StaticString, line: UInt) {
        precondition(!self.inEventLoop, "on \(self.name)", file: file, line: line)
    }

    func shutdownGracefully(queue callbackQueue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        let (first, wake) = self.queue.withLockedValue { queue -> (Bool, Bool) in
            defer {
                queue.stopping = true
                queue.woken = true
            }
            return (!queue.stopping, !queue.woken)
        }
        guard first else {
            callbackQueue.async { callback(nil) }
            return
        }
        if wake { self.wakeUp() }
        DispatchQueue.global().async {
            if let thread = self.thread { pthread_join(thread, nil) }
            callbackQueue.async { callback(nil) }
        }
    }

    deinit {
        // Closed here, not when the thread ends, so that a late `execute` never writes to a
        // descriptor number that something else has been given since.
        SystemCalls.close(self.wakeDescriptor)
        SystemCalls.close(self.epoll)
    }

    // MARK: Sockets

    /// Watches `connection`'s socket: for reads, and for writes too when `writable` is true.
    func register(_ connection: BenchConnection, writable: Bool) throws(SystemCallError) {
        self.preconditionInEventLoop(file: #fileID, line: #line)
        let descriptor = Int(connection.descriptor)
        if descriptor >= self.connections.count {
            self.connections.append(contentsOf: repeatElement(nil, count: descriptor + 1 - self.connections.count))
        }
        try self.control(add: true, connection.descriptor, writable: writable)
        self.connections[descriptor] = connection
    }

    /// Turns the interest in writes on or off.
    func watchWrites(_ connection: BenchConnection, _ writable: Bool) throws(SystemCallError) {
        try self.control(add: false, connection.descriptor, writable: writable)
    }

    func isRegistered(_ connection: BenchConnection) -> Bool {
        let descriptor = Int(connection.descriptor)
        return descriptor < self.connections.count && self.connections[descriptor] === connection
    }

    /// The loop's receive buffer, cleared, for one read; ``giveBackReceiveBuffer(_:)`` returns it.
    func takeReceiveBuffer() -> ByteBuffer {
        guard var buffer = self.receiveBuffer else {
            return ByteBufferAllocator().buffer(capacity: BenchConnection.readSize)
        }
        // Hold no second reference, so that clearing and writing do not copy it.
        self.receiveBuffer = nil
        buffer.clear()
        return buffer
    }

    func giveBackReceiveBuffer(_ buffer: ByteBuffer) {
        self.receiveBuffer = buffer
    }

    /// Forgets `connection`, whose socket is about to be closed (which takes it out of epoll).
    func unregister(_ connection: BenchConnection) {
        if self.isRegistered(connection) { self.connections[Int(connection.descriptor)] = nil }
    }

    private func control(add: Bool, _ descriptor: CInt, writable: Bool) throws(SystemCallError) {
        #if os(Linux)
            var event = epoll_event()
            event.events = EPOLLIN.rawValue | (writable ? EPOLLOUT.rawValue : 0)
            event.data.u64 = UInt64(descriptor)
            guard epoll_ctl(self.epoll, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, descriptor, &event) == 0 else {
                throw SystemCallError(operation: "epoll_ctl", errno: errno)
            }
        #endif
    }

    // MARK: The thread

    #if os(Linux)
        private func startThread(scheduling: ClientScheduling) throws(SystemCallError) {
            let box = Unmanaged.passRetained(self)
            var thread = pthread_t()
            let result = pthread_create(
                &thread, nil,
                { argument in
                    guard let argument else { return nil }
                    let loop = Unmanaged<BenchEventLoop>.fromOpaque(argument).takeRetainedValue()
                    loop.run()
                    return nil
                }, box.toOpaque())
            guard result == 0 else {
                box.release()
                throw SystemCallError(operation: "pthread_create", errno: result)
            }
            self.thread = thread
            // Before the thread runs anything: it waits for `started`.
            let policy = scheduling == .batch ? CHeraldBenchIO_setBatchScheduling(thread) : 0
            self.started.lock()
            self.started.unlock(withValue: 1)
            guard policy == 0 else {
                self.shutdownGracefully(queue: .global()) { _ in }
                throw SystemCallError(operation: "pthread_setschedparam(SCHED_BATCH)", errno: policy)
            }
        }
    #endif

    private func run() {
        // `thread` is set by the creating thread; wait for it so that `inEventLoop` holds here.
        self.started.lock(whenValue: 1)
        self.started.unlock()
        #if os(Linux)
            _ = CHeraldBenchIO_setThreadName(self.name)
            var events = [epoll_event](repeating: epoll_event(), count: Self.eventsPerWait)
            while true {
                self.runDueTimers()
                let (tasks, stopping) = self.queue.withLockedValue { queue in
                    defer {
                        queue.tasks.removeAll(keepingCapacity: true)
                        queue.woken = false
                    }
                    return (queue.tasks, queue.stopping)
                }
                for task in tasks { task() }
                self.runLocalTasks()
                if stopping { break }

                let timeout: CInt
                if !self.localTasks.isEmpty {
                    timeout = 0
                } else if let next = self.timers.min {
                    let now = NIODeadline.now().uptimeNanoseconds
                    timeout = next.deadline <= now ? 0 : CInt(min(1_000, (next.deadline - now + 999_999) / 1_000_000))
                } else {
                    timeout = 1_000
                }
                let count = events.withUnsafeMutableBufferPointer { buffer in
                    epoll_wait(self.epoll, buffer.baseAddress, CInt(buffer.count), timeout)
                }
                guard count > 0 else { continue }
                for index in 0..<Int(count) {
                    let event = events[index]
                    if event.data.u64 == Self.wakeToken {
                        var value: UInt64 = 0
                        _ = Glibc.read(self.wakeDescriptor, &value, 8)
                        continue
                    }
                    let descriptor = Int(event.data.u64)
                    guard descriptor < self.connections.count, let connection = self.connections[descriptor] else {
                        continue
                    }
                    connection.ready(
                        readable: event.events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0,
                        writable: event.events & EPOLLOUT.rawValue != 0
                    )
                }
            }
            // What is still open when the loop ends is closed with it, and what is scheduled
            // fails (a promise left unfulfilled is a leak that NIO's debug builds stop on).
            self.drainLocalTasks()
            for connection in self.connections {
                connection?.close()
            }
            self.connections = []
            self.drainLocalTasks()
            let scheduled = self.timerTasks.values
            self.timerTasks = [:]
            self.timers = Heap()
            for work in scheduled { work.fail(EventLoopError.shutdown) }
            self.drainLocalTasks()
        #endif
    }

    private func runLocalTasks() {
        // Tasks may queue more; those run on the next turn, after a look at the sockets.
        guard !self.localTasks.isEmpty else { return }
        let tasks = self.localTasks
        self.localTasks.removeAll(keepingCapacity: true)
        for task in tasks { task() }
    }

    /// Runs local tasks, and those they queue, until none are left.
    private func drainLocalTasks() {
        while !self.localTasks.isEmpty { self.runLocalTasks() }
    }

    private func addTimer(deadline: UInt64, _ work: ScheduledWork) -> UInt64 {
        self.nextTimerID &+= 1
        let id = self.nextTimerID
        self.timers.insert(Timer(deadline: deadline, id: id))
        self.timerTasks[id] = work
        return id
    }

    private func runDueTimers() {
        guard !self.timers.isEmpty else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        while let next = self.timers.min, next.deadline <= now {
            self.timers.removeMin()
            // A cancelled timer has no work left.
            self.timerTasks.removeValue(forKey: next.id)?.run()
        }
    }

    private func wakeUp() {
        #if os(Linux)
            var one: UInt64 = 1
            _ = Glibc.write(self.wakeDescriptor, &one, 8)
        #endif
    }
}
