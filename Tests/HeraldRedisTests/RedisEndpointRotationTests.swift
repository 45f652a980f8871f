import NIOCore
import Testing

@testable import HeraldRedis

@Suite("a reconnecting subscriber's rotation over its servers")
struct RedisEndpointRotationTests {
    private let backoff = RedisBackoff(initial: .milliseconds(100), maximum: .milliseconds(400))

    @Test("a failure moves on to the next server at once; a whole round that failed waits, longer each round")
    func order() {
        var rotation = RedisEndpointRotation(["a", "b", "c"], backoff: self.backoff)
        #expect(rotation.current == "a")
        #expect(rotation.failed() == .zero)
        #expect(rotation.current == "b")
        #expect(rotation.failed() == .zero)
        #expect(rotation.current == "c")
        let first = rotation.failed()
        #expect(rotation.current == "a")
        #expect((TimeAmount.milliseconds(50)...TimeAmount.milliseconds(100)).contains(first))
        #expect(rotation.failed() == .zero)
        #expect(rotation.failed() == .zero)
        let second = rotation.failed()
        #expect((TimeAmount.milliseconds(100)...TimeAmount.milliseconds(200)).contains(second))
    }

    @Test("a server reached stays current, and the waits start again from the shortest")
    func success() {
        var rotation = RedisEndpointRotation(["a", "b"], backoff: self.backoff)
        _ = rotation.failed()
        _ = rotation.failed()
        _ = rotation.failed()
        #expect(rotation.current == "b")
        rotation.succeeded()
        #expect(rotation.current == "b")
        #expect(rotation.failed() == .zero)
        #expect(rotation.current == "a")
        #expect((TimeAmount.milliseconds(50)...TimeAmount.milliseconds(100)).contains(rotation.failed()))
    }

    @Test("one server alone waits by the backoff after every failure")
    func single() {
        var rotation = RedisEndpointRotation(["only"], backoff: self.backoff)
        for _ in 0..<5 {
            #expect(rotation.failed() > .zero)
            #expect(rotation.current == "only")
        }
    }
}
