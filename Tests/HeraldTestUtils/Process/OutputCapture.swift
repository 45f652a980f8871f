import Foundation
import NIOConcurrencyHelpers

/// Collects what a child process writes to one pipe, reading on a thread of its own so
/// that the child never blocks on a full pipe.
final class OutputCapture: Sendable {
    /// Keeps memory bounded when a server logs a lot: only the newest bytes are kept.
    private static let limit = 8 << 20

    private let bytes = NIOLockedValueBox<[UInt8]>([])

    init(reading handle: FileHandle) {
        let bytes = self.bytes
        let thread = Thread {
            while true {
                // Blocks until data arrives; empty means end of file (the child closed the pipe).
                let data = handle.availableData
                if data.isEmpty { break }
                bytes.withLockedValue { buffer in
                    buffer.append(contentsOf: data)
                    if buffer.count > Self.limit {
                        buffer.removeFirst(buffer.count - Self.limit)
                    }
                }
            }
        }
        thread.name = "herald-output-capture"
        thread.start()
    }

    /// Everything captured so far, decoded as UTF-8 (invalid bytes repaired).
    var text: String {
        String(decoding: self.bytes.withLockedValue { $0 }, as: UTF8.self)
    }

    /// The complete lines captured so far.
    var lines: [Substring] {
        let text = self.text
        guard let lastNewline = text.lastIndex(of: "\n") else { return [] }
        return text[..<lastNewline].split(separator: "\n", omittingEmptySubsequences: false)
    }
}
