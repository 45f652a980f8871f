import Foundation
import HTTPTypes
import HeraldTestUtils
import NIOCore
import Testing

@testable import HeraldAPI

/// The answers written by hand are byte for byte what `JSONResponse`'s encoder writes.
@Suite struct HandWrittenJSONTests {
    static func encoded(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func written(_ value: some JSONWritable) -> [UInt8] {
        var buffer = ByteBuffer()
        value.writeJSON(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test(arguments: 0..<10)
    func batchAnswers(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed))
        let statuses: [HTTPResponse.Status] = [.badRequest, .notFound, .contentTooLarge, .serviceUnavailable]
        let results = (0..<Int.random(in: 0...20, using: &random)).map { _ -> BatchResponse.Result in
            if Bool.random(using: &random) {
                let entries = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                    MessageResponse.Entry(
                        user: random.jsonHostileText(maximumLength: 12),
                        seq: Bool.random(using: &random) ? 0 : UInt32.random(in: 0...UInt32.max, using: &random)
                    )
                }
                return .sent(MessageResponse(messages: entries, sessions: Int.random(in: 0...100_000, using: &random)))
            }
            let status = statuses.randomElement(using: &random) ?? .badRequest
            let code = random.jsonHostileText(maximumLength: 12)
            return .failed(APIError(status, code, random.jsonHostileText(maximumLength: 12)))
        }
        let batch = BatchResponse(results: results)
        #expect(Self.written(batch) == (try Self.encoded(batch)))
        for case .sent(let message) in results {
            #expect(Self.written(message) == (try Self.encoded(message)))
        }
    }
}
