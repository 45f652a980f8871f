/// Reads the plain subset of JSON that the fast paths for the bodies every connection sends
/// accept (the AUTH body, the token's claims, a batch of pushes): strings of printable ASCII
/// without escapes, integers of at most 15 digits, and whitespace only where the reader skips
/// it. Whatever it refuses goes to `JSONDecoder`.
package struct PlainJSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    package init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    package var isAtEnd: Bool { self.index == self.bytes.count }

    package mutating func take(_ byte: UInt8) -> Bool {
        guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
        self.index += 1
        return true
    }

    /// Skips JSON's whitespace (space, tab, line feed, carriage return).
    package mutating func skipWhitespace() {
        while self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): self.index += 1
            default: return
            }
        }
    }

    /// A string of printable ASCII with no escapes; its bytes without the quotes.
    package mutating func plainString() -> UnsafeBufferPointer<UInt8>? {
        guard self.take(UInt8(ascii: "\"")) else { return nil }
        let start = self.index
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                let value = UnsafeBufferPointer(rebasing: self.bytes[start..<self.index])
                self.index += 1
                return value
            }
            guard byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "\\") else { return nil }
            self.index += 1
        }
        return nil
    }

    /// A plain string (see ``plainString()``) as a `String`.
    package mutating func plainText() -> String? {
        self.plainString().map { String(decoding: $0, as: UTF8.self) }
    }

    /// A JSON array whose elements `element` reads, with whitespace around them; nil when an
    /// element or the array's syntax is not what it expects.
    package mutating func array<Element>(_ element: (inout PlainJSONScanner) -> Element?) -> [Element]? {
        guard self.take(UInt8(ascii: "[")) else { return nil }
        var elements: [Element] = []
        self.skipWhitespace()
        if self.take(UInt8(ascii: "]")) { return elements }
        repeat {
            self.skipWhitespace()
            guard let value = element(&self) else { return nil }
            elements.append(value)
            self.skipWhitespace()
        } while self.take(UInt8(ascii: ","))
        return self.take(UInt8(ascii: "]")) ? elements : nil
    }

    /// A JSON object, with whitespace around its tokens: `member` reads the value of each key
    /// (the scanner just past its colon) and answers whether it could. False when a member or
    /// the object's syntax is not what it expects.
    package mutating func object(_ member: (UnsafeBufferPointer<UInt8>, inout PlainJSONScanner) -> Bool) -> Bool {
        guard self.take(UInt8(ascii: "{")) else { return false }
        self.skipWhitespace()
        if self.take(UInt8(ascii: "}")) { return true }
        repeat {
            self.skipWhitespace()
            guard let key = self.plainString() else { return false }
            self.skipWhitespace()
            guard self.take(UInt8(ascii: ":")) else { return false }
            self.skipWhitespace()
            guard member(key, &self) else { return false }
            self.skipWhitespace()
        } while self.take(UInt8(ascii: ","))
        return self.take(UInt8(ascii: "}"))
    }

    /// Reads a member's value with `read` into `slot` if `slot` is still empty. False when it
    /// already holds one (the key came twice, which the fast paths leave to `JSONDecoder`) or
    /// the value does not read.
    package mutating func readOnce<Value>(into slot: inout Value?, _ read: (inout PlainJSONScanner) -> Value?) -> Bool {
        guard slot == nil, let value = read(&self) else { return false }
        slot = value
        return true
    }

    /// An integer of 1 to 15 digits, optionally negative, as JSON writes it (no leading zero,
    /// no fraction or exponent): exact in the `Double` the decoder reads it as.
    package mutating func integer() -> Int64? {
        let negative = self.take(UInt8(ascii: "-"))
        let start = self.index
        var value: Int64 = 0
        while self.index < self.bytes.count, self.index - start < 16 {
            let byte = self.bytes[self.index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            self.index += 1
        }
        let digits = self.index - start
        guard digits >= 1, digits <= 15 else { return nil }
        if digits > 1, self.bytes[start] == UInt8(ascii: "0") { return nil }
        if self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        return negative ? -value : value
    }

    /// Skips a plain string or an integer.
    package mutating func skipPlainValue() -> Bool {
        guard self.index < self.bytes.count else { return false }
        if self.bytes[self.index] == UInt8(ascii: "\"") { return self.plainString() != nil }
        return self.integer() != nil
    }
}
