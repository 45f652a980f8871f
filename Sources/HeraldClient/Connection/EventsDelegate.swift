import NIOCore

/// Turns the demand of the consumer of ``HeraldClient/events`` into reading or not reading the socket.
struct EventsDelegate: NIOAsyncSequenceProducerDelegate {
    let driver: NIOLoopBoundBox<ClientDriver>

    func produceMore() {
        let driver = self.driver
        driver.eventLoop.execute { driver.value.produceMore() }
    }

    func didTerminate() {
        let driver = self.driver
        driver.eventLoop.execute { driver.value.consumerTerminated() }
    }
}
