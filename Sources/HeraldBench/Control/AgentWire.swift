import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The agent protocol's framing: one JSON object per line, UTF-8, `\n` at the end.
public enum AgentWire {
    /// Longest line accepted: a snapshot carries histograms, a few hundred KiB at most.
    public static let maximumLineLength = 16 * 1024 * 1024

    /// One line for `value`, newline included.
    public static func encode(_ value: some Encodable) throws -> ByteBuffer {
        // JSONEncoder is cheap to make and not documented as safe to share between threads.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var buffer = ByteBuffer(bytes: try encoder.encode(value))
        buffer.writeInteger(UInt8(ascii: "\n"))
        return buffer
    }

    /// Decodes one line (without its newline).
    public static func decode<Value: Decodable>(_ type: Value.Type, from line: ByteBuffer) throws -> Value {
        try JSONDecoder().decode(type, from: Data(line.readableBytesView))
    }
}
