import HeraldRESP
import NIOCore
import Testing

@testable import HeraldRedis

@Suite("the connection state machine, driven without sockets")
struct RedisConnectionStateMachineTests {
    typealias Machine = RedisConnectionStateMachine<Int>

    private func token(_ text: String) -> RESPToken {
        var buffer = ByteBuffer(string: text)
        return try! RESPToken(consuming: &buffer)!
    }

    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    private let hello = "%1\r\n+server\r\n+redis\r\n"

    private func command(_ action: Machine.Action) -> [String]? {
        guard case .sendHandshakeCommand(let command, _) = action else { return nil }
        return command.arguments.map {
            switch $0 {
            case .string(let text): text
            case .bytes(let bytes): String(buffer: bytes)
            case .integer(let value): "\(value)"
            }
        }
    }

    private func completed(_ action: Machine.Action) -> (Int, Result<RESPToken, RedisClientError>)? {
        guard case .deliver(_, let completed, _, _) = action else { return nil }
        return completed
    }

    private func ready(handshake: Machine.Handshake = .init(database: 0)) -> Machine {
        var machine = Machine(handshake: handshake)
        _ = machine.channelActive(deadline: self.start + .seconds(5))
        guard case .handshakeCompleted(.resp3) = machine.receivedToken(self.token(self.hello)) else {
            Issue.record("the handshake did not complete")
            return machine
        }
        return machine
    }

    private func pending(_ ids: [Int], after offset: TimeAmount = .seconds(1)) -> [Machine.Pending] {
        ids.map { Machine.Pending(request: $0, kind: .reply, deadline: self.start + offset) }
    }

    @Test("the handshake without credentials is HELLO 3")
    func handshakeWithoutAuth() {
        var machine = Machine(handshake: .init(database: 0))
        let action = machine.channelActive(deadline: self.start)
        #expect(self.command(action) == ["HELLO", "3"])
        guard case .sendHandshakeCommand(_, .schedule(self.start)) = action else {
            Issue.record("the handshake's deadline was not armed")
            return
        }
        guard case .handshakeCompleted(.resp3) = machine.receivedToken(self.token(self.hello)) else {
            Issue.record("the handshake did not complete")
            return
        }
    }

    @Test("with credentials, HELLO carries AUTH; refused credentials fail the handshake")
    func handshakeWithAuth() {
        var machine = Machine(handshake: .init(username: "herald", password: "secret", database: 0))
        #expect(self.command(machine.channelActive(deadline: self.start)) == ["HELLO", "3", "AUTH", "herald", "secret"])
        let refused = machine.receivedToken(self.token("-WRONGPASS invalid username-password pair or user is disabled.\r\n"))
        guard case .close(let error?, let failing) = refused else {
            Issue.record("refused credentials did not fail the handshake")
            return
        }
        #expect(error.code == .authenticationFailed)
        #expect(error.message?.hasPrefix("WRONGPASS") == true)
        #expect(failing.isEmpty)
        guard case .refuse = machine.sendRequests(self.pending([1])) else {
            Issue.record("a failed connection took a request")
            return
        }

        var passwordOnly = Machine(handshake: .init(password: "secret", database: 0))
        #expect(self.command(passwordOnly.channelActive(deadline: self.start)) == ["HELLO", "3", "AUTH", "default", "secret"])
    }

    @Test("a server without HELLO gets RESP2, AUTH and SELECT")
    func resp2Fallback() {
        var machine = Machine(handshake: .init(username: "herald", password: "secret", database: 2))
        _ = machine.channelActive(deadline: self.start)
        let auth = machine.receivedToken(self.token("-ERR unknown command 'HELLO'\r\n"))
        #expect(self.command(auth) == ["AUTH", "herald", "secret"])
        let select = machine.receivedToken(self.token("+OK\r\n"))
        #expect(self.command(select) == ["SELECT", "2"])
        guard case .handshakeCompleted(.resp2) = machine.receivedToken(self.token("+OK\r\n")) else {
            Issue.record("the RESP2 handshake did not complete")
            return
        }

        var noPassword = Machine(handshake: .init(database: 0))
        _ = noPassword.channelActive(deadline: self.start)
        guard case .handshakeCompleted(.resp2) = noPassword.receivedToken(self.token("-NOPROTO unsupported protocol version\r\n")) else {
            Issue.record("NOPROTO did not fall back to RESP2")
            return
        }

        var wrongPassword = Machine(handshake: .init(password: "nope", database: 0))
        _ = wrongPassword.channelActive(deadline: self.start)
        _ = wrongPassword.receivedToken(self.token("-ERR unknown command 'HELLO'\r\n"))
        guard case .close(let error?, _) = wrongPassword.receivedToken(self.token("-ERR invalid password\r\n")) else {
            Issue.record("a refused AUTH did not fail the handshake")
            return
        }
        #expect(error.code == .authenticationFailed)
    }

    @Test("a handshake past its deadline fails with a timeout")
    func handshakeTimeout() {
        var machine = Machine(handshake: .init(database: 0))
        _ = machine.channelActive(deadline: self.start)
        guard case .close(let error?, _) = machine.timeoutFired(now: self.start) else {
            Issue.record("the handshake did not time out")
            return
        }
        #expect(error.code == .timeout)
    }

    @Test("pipelined replies complete their requests in order; the timer follows the queue")
    func pipelinedInOrder() throws {
        var machine = self.ready()
        guard case .write(.schedule(let deadline)) = machine.sendRequests(self.pending([1, 2, 3])) else {
            Issue.record("the first requests did not arm the timer")
            return
        }
        #expect(deadline == self.start + .seconds(1))
        guard case .write(.keep) = machine.sendRequests(self.pending([4])) else {
            Issue.record("later requests re-armed the timer")
            return
        }
        for (id, reply) in [(1, "+a\r\n"), (2, ":2\r\n"), (3, "$1\r\nc\r\n")] {
            let action = machine.receivedToken(self.token(reply))
            let (request, result) = try #require(self.completed(action))
            #expect(request == id)
            #expect(try result.get() == self.token(reply))
            guard case .deliver(nil, _, .keep, false) = action else {
                Issue.record("a reply with more due changed the timer or closed")
                return
            }
        }
        guard case .deliver(nil, let last?, .cancel, false) = machine.receivedToken(self.token("_\r\n")) else {
            Issue.record("the last reply did not cancel the timer")
            return
        }
        #expect(last.0 == 4)
    }

    @Test("an error reply fails only its own request")
    func errorReply() {
        var machine = self.ready()
        _ = machine.sendRequests(self.pending([1, 2, 3]))
        let first = self.completed(machine.receivedToken(self.token("+OK\r\n")))
        let second = self.completed(machine.receivedToken(self.token("-ERR value is not an integer or out of range\r\n")))
        let third = self.completed(machine.receivedToken(self.token(":5\r\n")))
        #expect(first?.0 == 1)
        #expect((try? first?.1.get()) != nil)
        #expect(second?.0 == 2)
        guard case .failure(let error)? = second?.1 else {
            Issue.record("the error reply did not fail its request")
            return
        }
        #expect(error.code == .commandError)
        #expect(error.message == "ERR value is not an integer or out of range")
        #expect(error.description == "Redis answered with an error: ERR value is not an integer or out of range.")
        #expect(third?.0 == 3)
        #expect((try? third?.1.get())?.integer == 5)
    }

    @Test("the oldest request's deadline fails it, closes, and fails the rest")
    func timeout() {
        var machine = self.ready()
        _ = machine.sendRequests(self.pending([1, 2], after: .seconds(1)))
        // A timer that fires early (it was armed for an older request) is re-armed.
        guard case .deliver(nil, nil, .schedule(let again), false) = machine.timeoutFired(now: self.start + .milliseconds(500)) else {
            Issue.record("an early timer was not re-armed")
            return
        }
        #expect(again == self.start + .seconds(1))
        guard case .close(nil, let failing) = machine.timeoutFired(now: self.start + .seconds(1)) else {
            Issue.record("the deadline did not close the connection")
            return
        }
        #expect(failing.map(\.0) == [1, 2])
        #expect(failing.map(\.1.code) == [.timeout, .connectionClosed])
        #expect(failing[0].1.description == "Redis did not answer in time: no reply came before the command timeout.")
        guard case .refuse(let error) = machine.sendRequests(self.pending([3])) else {
            Issue.record("a closed connection took a request")
            return
        }
        #expect(error.code == .connectionClosed)
        guard case .none = machine.channelInactive() else {
            Issue.record("requests were failed twice")
            return
        }
    }

    @Test("closing waits for the replies due, refuses new requests, then closes")
    func closeWithPending() {
        var machine = self.ready()
        _ = machine.sendRequests(self.pending([1, 2]))
        guard case .none = machine.close() else {
            Issue.record("close did not wait for the pending replies")
            return
        }
        guard case .refuse(let error) = machine.sendRequests(self.pending([3])) else {
            Issue.record("a closing connection took a request")
            return
        }
        #expect(error.code == .connectionClosing)
        guard case .deliver(nil, (1, _)?, _, false) = machine.receivedToken(self.token("+OK\r\n")) else {
            Issue.record("the first reply closed the connection")
            return
        }
        guard case .deliver(nil, (2, _)?, _, true) = machine.receivedToken(self.token("+OK\r\n")) else {
            Issue.record("the last reply did not close the connection")
            return
        }

        var idle = self.ready()
        guard case .close(nil, let none) = idle.close() else {
            Issue.record("an idle connection did not close at once")
            return
        }
        #expect(none.isEmpty)
    }

    @Test("a connection lost with requests pending fails them all")
    func lostWithPending() {
        var machine = self.ready()
        _ = machine.sendRequests(self.pending([1, 2, 3]))
        guard case .close(nil, let failing) = machine.channelInactive() else {
            Issue.record("the lost connection did not fail its requests")
            return
        }
        #expect(failing.map(\.0) == [1, 2, 3])
        #expect(failing.allSatisfy { $0.1.code == .connectionClosed })
    }

    @Test("a malformed reply closes the connection with a protocol error")
    func malformedReply() {
        var machine = self.ready()
        _ = machine.sendRequests(self.pending([1]))
        guard case .close(nil, let failing) = machine.errorCaught(RESPParsingError(.invalidLength, offset: 1)) else {
            Issue.record("a parsing error did not close the connection")
            return
        }
        #expect(failing.first?.1.code == .protocolError)
    }

    @Test("a failure the handler already described (a refused TLS certificate) fails the handshake as it is")
    func describedFailureDuringHandshake() {
        var machine = Machine(handshake: .init(database: 0))
        _ = machine.channelActive(deadline: self.start + .seconds(5))
        let refused = RedisClientError(.connectFailed, message: "the TLS certificate of 127.0.0.1:6380 was not accepted")
        guard case .close(let handshakeError, let failing) = machine.errorCaught(refused) else {
            Issue.record("a TLS failure did not close the connection")
            return
        }
        #expect(handshakeError == refused)
        #expect(failing.isEmpty)
    }

    @Test("a reply nothing waits for closes the connection")
    func unsolicitedReply() {
        var machine = self.ready()
        guard case .close = machine.receivedToken(self.token("+OK\r\n")) else {
            Issue.record("an unsolicited reply did not close the connection")
            return
        }
    }

    @Test("pushes are delivered apart from replies; subscriptions complete on their confirmations")
    func pushFrames() {
        var machine = self.ready()
        let subscribe = Machine.Pending(request: 1, kind: .subscription(confirmation: "subscribe", count: 2), deadline: self.start + .seconds(1))
        _ = machine.sendRequests([subscribe] + self.pending([2]))
        let first = machine.receivedToken(self.token(">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"))
        guard case .deliver(_?, nil, .keep, false) = first else {
            Issue.record("the first confirmation completed the subscription")
            return
        }
        let message = machine.receivedToken(self.token(">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n"))
        guard case .deliver(let push?, nil, .keep, false) = message else {
            Issue.record("a message was taken for a reply")
            return
        }
        #expect(push.elements?.tokens.compactMap(\.string) == ["message", "a", "hi"])
        guard case .deliver(_?, (1, _)?, .keep, false) = machine.receivedToken(self.token(">3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n")) else {
            Issue.record("the last confirmation did not complete the subscription")
            return
        }
        guard case .deliver(nil, (2, _)?, .cancel, false) = machine.receivedToken(self.token("+PONG\r\n")) else {
            Issue.record("the reply after the subscription was not matched")
            return
        }
    }

    @Test("on RESP2, pub/sub arrays are pushes once subscribed")
    func resp2PubSub() {
        var machine = Machine(handshake: .init(database: 0))
        _ = machine.channelActive(deadline: self.start)
        _ = machine.receivedToken(self.token("-ERR unknown command 'HELLO'\r\n"))
        let subscribe = Machine.Pending(request: 1, kind: .subscription(confirmation: "subscribe", count: 1), deadline: self.start + .seconds(1))
        _ = machine.sendRequests([subscribe])
        guard case .deliver(_?, (1, _)?, .cancel, false) = machine.receivedToken(self.token("*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n")) else {
            Issue.record("the RESP2 confirmation did not complete the subscription")
            return
        }
        guard case .deliver(_?, nil, _, false) = machine.receivedToken(self.token("*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n")) else {
            Issue.record("a RESP2 message was taken for a reply")
            return
        }
    }
}
