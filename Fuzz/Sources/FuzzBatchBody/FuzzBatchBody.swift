import FuzzDriver
import HeraldCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reads the input as the body of `POST /v1/apps/{app}/messages/batch`, as the API does: it
/// decodes to a batch or fails with a 400 whose message is a sentence, and a batch the plain
/// reader reads, `JSONDecoder` reads the same. Each message of a batch within the limits is
/// valid within them (users, payload, ttl, collapse key) or has its own 400 or 413.
func fuzzBatchBody(_ body: ByteBuffer) {
    let batch: BatchRequest
    do {
        batch = try RequestDecoding.decode(BatchRequest.self, body: body, plain: BatchRequest.plain)
    } catch let error as APIError {
        BatchFixture.expectClear(error, statuses: [400])
        return
    } catch {
        preconditionFailure("a batch body failed with \(type(of: error)), not an API error.")
    }
    if let plain = body.withUnsafeReadableBytes({ BatchRequest.plain($0.assumingMemoryBound(to: UInt8.self)) }) {
        let decoded = try? JSONDecoder().decode(BatchRequest.self, from: Data(body.readableBytesView))
        precondition(
            decoded.map(BatchFixture.summary) == BatchFixture.summary(plain),
            "the plain reader and JSONDecoder read a batch differently."
        )
    }
    let entries: [Result<ValidatedMessage, APIError>]
    do throws(APIError) {
        entries = try BatchFixture.limits.validate(batch, policy: BatchFixture.policy)
    } catch {
        BatchFixture.expectClear(error, statuses: [400])
        precondition(
            !(1...BatchFixture.limits.maxBatchMessages).contains(batch.messages.count),
            "a batch within the limit was refused.")
        return
    }
    precondition(entries.count == batch.messages.count, "a batch validated to another number of messages.")
    for entry in entries {
        switch entry {
        case .success(let message):
            BatchFixture.expectWithinLimits(message)
        case .failure(let error):
            BatchFixture.expectClear(error, statuses: [400, 413])
        }
    }
}

/// The limits and policy the batches are held to: small, so that fuzzed bodies reach them.
enum BatchFixture {
    static let limits = MessageLimits(maxBatchMessages: 4, maxUsersPerMessage: 3, maxPayloadBytes: 16)
    static let policy = AppPolicy(defaultTTL: 60, maxTTL: 3600)

    /// An error a backend can act on: the expected status, a code, and a sentence with no
    /// Swift debug description in it.
    static func expectClear(_ error: APIError, statuses: Set<Int>) {
        precondition(statuses.contains(error.status.code), "a batch failed with status \(error.status.code).")
        precondition(!error.code.isEmpty && !error.message.isEmpty, "a batch failed without a code or a message.")
        for debris in [
            "CodingKeys", "Swift.Int", "Swift.String", "Swift.Array", "DecodingError", "Optional(", "Context(",
            "_JSONKey",
        ] {
            precondition(!error.message.contains(debris), "an error message holds \"\(debris)\": \(error.message)")
        }
    }

    static func expectWithinLimits(_ message: ValidatedMessage) {
        precondition(
            (1...limits.maxUsersPerMessage).contains(message.users.count),
            "a message to \(message.users.count) users passed.")
        precondition(Set(message.users).count == message.users.count, "a message names a user twice.")
        for user in message.users {
            precondition(
                (1...TokenClaims.maximumIdentifierLength).contains(user.utf8.count), "a user id out of bounds passed.")
        }
        precondition(message.payload.readableBytes <= limits.maxPayloadBytes, "a payload over the limit passed.")
        if case .stored(let stored) = message.delivery {
            precondition((1...policy.maxTTL).contains(stored.ttl), "a ttl out of bounds passed.")
            if let key = stored.collapseKey {
                precondition(
                    (1...MessageLimits.maximumCollapseKeyBytes).contains(key.utf8.count),
                    "a collapse key out of bounds passed.")
            }
        }
    }

    /// What a batch says, message by message, to compare two readings of it.
    static func summary(_ batch: BatchRequest) -> [String] {
        batch.messages.map { entry in
            switch entry.message {
            case .success(let message):
                let fields: [String?] = [
                    message.users?.joined(separator: "\u{0}"), message.payload.payload, message.payload.payloadBase64,
                    message.qos.map(String.init), message.ttl.map(String.init), message.collapseKey,
                ]
                return fields.map { $0.map { "<\($0)>" } ?? "-" }.joined(separator: " ")
            case .failure(let error):
                return "failed: \(error.code): \(error.message)"
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt { FuzzDriver.test(data, count, fuzzBatchBody) }

@_cdecl("FuzzBatchBody_main")
func fuzzMain(_ argc: CInt, _ argv: FuzzDriver.Arguments) -> CInt { FuzzDriver.main(argc, argv, testOneInput) }
