import HeraldRESP
import NIOCore
import Testing

@Suite("hostile and malformed replies are refused with a code and an offset")
struct RESPLimitsTests {
    private func error(_ reply: String, limits: RESPLimits = RESPLimits()) -> RESPParsingError? {
        var buffer = ByteBuffer(string: reply)
        do {
            _ = try RESPToken(consuming: &buffer, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("nesting deeper than the limit is refused; up to it is accepted")
    func nesting() throws {
        let limits = RESPLimits(maximumDepth: 4)
        let accepted = String(repeating: "*1\r\n", count: 4) + ":1\r\n"
        var buffer = ByteBuffer(string: accepted)
        #expect(try RESPToken(consuming: &buffer, limits: limits) != nil)
        let refused = self.error(String(repeating: "*1\r\n", count: 5) + ":1\r\n", limits: limits)
        #expect(refused?.code == .nestingTooDeep)
        #expect(refused?.offset == 16)
        // Deep enough to exhaust a stack if it were followed, refused with the default limit.
        #expect(self.error(String(repeating: "*1\r\n", count: 100_000))?.code == .nestingTooDeep)
        #expect(self.error(String(repeating: "|1\r\n+a\r\n", count: 100) + ":1\r\n")?.code == .nestingTooDeep)
    }

    @Test("lengths that are negative, huge or not digits are refused")
    func hostileLengths() {
        let cases: [(String, RESPParsingError.Code, Int)] = [
            ("$-2\r\n", .invalidLength, 1),
            ("!-1\r\n", .invalidLength, 1),
            ("*-5\r\n", .invalidLength, 1),
            ("%-1\r\n", .invalidLength, 1),
            ("$\r\n", .invalidLength, 1),
            ("$12a\r\n", .invalidLength, 3),
            ("$ 1\r\n", .invalidLength, 1),
            ("$99999999999999999999999999\r\n", .lengthTooLarge, 1),
            ("$536870913\r\n", .lengthTooLarge, 1),
            ("*16777217\r\n", .aggregateTooLarge, 1),
            ("%9223372036854775807\r\n", .aggregateTooLarge, 1),
            ("$3\r\nabcde\r\n", .missingTerminator, 7),
        ]
        for (reply, code, offset) in cases {
            let error = self.error(reply)
            #expect(error?.code == code, "\(reply.debugDescription)")
            #expect(error?.offset == offset, "\(reply.debugDescription)")
        }
    }

    @Test("a huge claimed length is refused before its bytes arrive")
    func hugeLengthWithoutBytes() throws {
        let limits = RESPLimits(maximumBulkLength: 1024)
        #expect(self.error("$1025\r\n", limits: limits)?.code == .lengthTooLarge)
        var buffer = ByteBuffer(string: "$1024\r\n")
        #expect(try RESPToken(consuming: &buffer, limits: limits) == nil)
    }

    @Test("malformed scalars are refused")
    func malformedScalars() {
        let cases: [(String, RESPParsingError.Code)] = [
            ("?\r\n", .invalidTypeIdentifier),
            (":12x\r\n", .invalidInteger),
            (":9223372036854775808\r\n", .invalidInteger),
            (":\r\n", .invalidInteger),
            (",1.2.3\r\n", .invalidDouble),
            (",abc\r\n", .invalidDouble),
            ("#x\r\n", .invalidBoolean),
            ("_x\r\n", .invalidNull),
            ("(12a\r\n", .invalidBigNumber),
            ("=3\r\ntxt\r\n", .invalidVerbatimString),
            ("+OK\rX", .invalidLineEnding),
            ("+OK\n", .invalidLineEnding),
        ]
        for (reply, code) in cases {
            #expect(self.error(reply)?.code == code, "\(reply.debugDescription)")
        }
        #expect(self.error("+" + String(repeating: "a", count: 100), limits: RESPLimits(maximumLineLength: 10))?.code == .lineTooLong)
    }

    @Test("the error reads as a sentence")
    func description() {
        let error = RESPParsingError(.invalidLength, offset: 3)
        #expect(error.description == "The Redis reply is malformed at byte 3: a length is not a count of bytes or elements.")
    }
}
