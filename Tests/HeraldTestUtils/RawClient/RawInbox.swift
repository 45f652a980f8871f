import NIOCore

/// The queue between a raw client's channel handler and the test awaiting events.
///
/// Only touched on the channel's event loop (handlers call it there; ``RawClient`` hops
/// there through `NIOLoopBound`).
final class RawInbox {
    private let eventLoop: any EventLoop
    private var events = CircularBuffer<RawEvent>()
    private var isClosed = false
    private var waiter: (promise: EventLoopPromise<RawEvent?>, timeout: Scheduled<Void>)?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Adds an event; a `.closed` after the first is ignored.
    func deliver(_ event: RawEvent) {
        self.eventLoop.assertInEventLoop()
        if event == .closed {
            if self.isClosed { return }
            self.isClosed = true
        }
        if let waiter = self.waiter {
            self.waiter = nil
            waiter.timeout.cancel()
            waiter.promise.succeed(event)
        } else {
            self.events.append(event)
        }
    }

    /// The next event, or `nil` if none arrives within `timeout`. After `.closed`, every call
    /// answers `.closed` again.
    func next(timeout: TimeAmount) -> EventLoopFuture<RawEvent?> {
        self.eventLoop.assertInEventLoop()
        if let event = self.events.popFirst() {
            return self.eventLoop.makeSucceededFuture(event)
        }
        if self.isClosed {
            return self.eventLoop.makeSucceededFuture(.closed)
        }
        if let previous = self.waiter {
            // One reader at a time: a second concurrent wait is a bug in the test.
            self.waiter = nil
            previous.timeout.cancel()
            previous.promise.fail(RawClientError.unexpected("two concurrent receives on one RawClient"))
        }
        let promise = self.eventLoop.makePromise(of: RawEvent?.self)
        // The timer fires on this same event loop, which is what NIOLoopBound checks.
        let boundSelf = NIOLoopBound(self, eventLoop: self.eventLoop)
        let timeoutTask = self.eventLoop.scheduleTask(in: timeout) {
            let inbox = boundSelf.value
            guard let waiter = inbox.waiter, waiter.promise.futureResult === promise.futureResult else { return }
            inbox.waiter = nil
            waiter.promise.succeed(nil)
        }
        self.waiter = (promise, timeoutTask)
        return promise.futureResult
    }
}
