import NIOCore

/// Reads the two fields a bench client needs from an AUTH_OK body, `session` and `heartbeat`,
/// by walking the JSON object's top level in place.
///
/// Every bench connection gets one AUTH_OK, and `JSONDecoder` costs about a tenth of a
/// client's CPU while thousands connect per second. Anything this walker does not expect
/// makes it return `nil`, and the caller decodes the body fully instead.
enum AuthOKScanner {
    static func scan(_ body: ByteBuffer) -> (session: UInt16, heartbeat: Int)? {
        body.withUnsafeReadableBytes { bytes in
            var walker = Walker(bytes: bytes)
            return walker.topLevel()
        }
    }

    private struct Walker {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func topLevel() -> (session: UInt16, heartbeat: Int)? {
            self.skipSpace()
            guard self.take(UInt8(ascii: "{")) else { return nil }
            var session: Int?
            var heartbeat: Int?
            self.skipSpace()
            if self.take(UInt8(ascii: "}")) { return nil }
            while true {
                self.skipSpace()
                guard let key = self.keyKind() else { return nil }
                self.skipSpace()
                guard self.take(UInt8(ascii: ":")) else { return nil }
                self.skipSpace()
                switch key {
                case .session:
                    guard let value = self.integer() else { return nil }
                    session = value
                case .heartbeat:
                    guard let value = self.integer() else { return nil }
                    heartbeat = value
                case .other:
                    guard self.skipValue(depth: 0) else { return nil }
                }
                self.skipSpace()
                if self.take(UInt8(ascii: ",")) { continue }
                guard self.take(UInt8(ascii: "}")) else { return nil }
                break
            }
            guard let session, let heartbeat, let session16 = UInt16(exactly: session) else { return nil }
            return (session16, heartbeat)
        }

        private enum Key {
            case session
            case heartbeat
            case other
        }

        /// A key string: which of the wanted ones it is, if any.
        private mutating func keyKind() -> Key? {
            let start = self.index + 1
            guard self.skipString() else { return nil }
            let content = UnsafeRawBufferPointer(rebasing: self.bytes[start..<(self.index - 1)])
            if content.elementsEqual("session".utf8) { return .session }
            if content.elementsEqual("heartbeat".utf8) { return .heartbeat }
            return .other
        }

        private mutating func integer() -> Int? {
            var value = 0
            var digits = 0
            while self.index < self.bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.index])
            {
                value = value * 10 + Int(self.bytes[self.index] - UInt8(ascii: "0"))
                digits += 1
                self.index += 1
                if digits > 9 { return nil }
            }
            return digits > 0 ? value : nil
        }

        /// Skips a string, the opening quote at `index`.
        private mutating func skipString() -> Bool {
            guard self.take(UInt8(ascii: "\"")) else { return false }
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                self.index += 1
                if byte == UInt8(ascii: "\\") {
                    self.index += 1
                } else if byte == UInt8(ascii: "\"") {
                    return true
                }
            }
            return false
        }

        /// Skips any JSON value.
        private mutating func skipValue(depth: Int) -> Bool {
            guard depth < 8, self.index < self.bytes.count else { return false }
            switch self.bytes[self.index] {
            case UInt8(ascii: "\""):
                return self.skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let close = self.bytes[self.index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                let isObject = close == UInt8(ascii: "}")
                self.index += 1
                self.skipSpace()
                if self.take(close) { return true }
                while true {
                    self.skipSpace()
                    if isObject {
                        guard self.skipString() else { return false }
                        self.skipSpace()
                        guard self.take(UInt8(ascii: ":")) else { return false }
                        self.skipSpace()
                    }
                    guard self.skipValue(depth: depth + 1) else { return false }
                    self.skipSpace()
                    if self.take(UInt8(ascii: ",")) { continue }
                    return self.take(close)
                }
            default:
                // A number, true, false or null: up to the next delimiter.
                let start = self.index
                while self.index < self.bytes.count {
                    switch self.bytes[self.index] {
                    case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: " "), UInt8(ascii: "\n"),
                        UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                        return self.index > start
                    default:
                        self.index += 1
                    }
                }
                return false
            }
        }

        private mutating func skipSpace() {
            while self.index < self.bytes.count {
                switch self.bytes[self.index] {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): self.index += 1
                default: return
                }
            }
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
            self.index += 1
            return true
        }
    }
}
