import NIOCore

/// The members of a JSON object being written by hand (see `ByteBuffer.writeJSONObject`):
/// each call appends `"key":value`, with the comma before every member but the first.
/// Keys are static and need no escaping; the caller writes them in sorted order.
public struct JSONMembers {
    private var count = 0

    fileprivate init() {}

    public mutating func string(_ key: StaticString, _ value: String, in buffer: inout ByteBuffer) {
        self.key(key, in: &buffer)
        buffer.writeJSONString(value)
    }

    public mutating func number(_ key: StaticString, _ value: some BinaryInteger, in buffer: inout ByteBuffer) {
        self.key(key, in: &buffer)
        buffer.writeJSONInteger(value)
    }

    public mutating func bool(_ key: StaticString, _ value: Bool, in buffer: inout ByteBuffer) {
        self.key(key, in: &buffer)
        buffer.writeStaticString(value ? "true" : "false")
    }

    public mutating func object(
        _ key: StaticString,
        in buffer: inout ByteBuffer,
        _ body: (inout JSONMembers, inout ByteBuffer) -> Void
    ) {
        self.key(key, in: &buffer)
        buffer.writeJSONObject(body)
    }

    /// An array member whose elements `element` writes, one per value, comma-separated.
    public mutating func array<Element>(
        _ key: StaticString,
        _ values: some Sequence<Element>,
        in buffer: inout ByteBuffer,
        _ element: (Element, inout ByteBuffer) -> Void
    ) {
        self.key(key, in: &buffer)
        buffer.writeJSONArray(values, element)
    }

    /// `,"key":` in one write; an AUTH_OK has ten keys.
    private mutating func key(_ key: StaticString, in buffer: inout ByteBuffer) {
        let separator: UInt8? = self.count > 0 ? UInt8(ascii: ",") : nil
        self.count += 1
        _ = key.withUTF8Buffer { key in
            buffer.writeQuoted(key, before: separator, after: UInt8(ascii: ":"))
        }
    }
}

extension ByteBuffer {
    /// Appends a JSON object whose members `body` writes; returns the bytes written.
    @discardableResult
    public mutating func writeJSONObject(_ body: (inout JSONMembers, inout ByteBuffer) -> Void) -> Int {
        let start = self.writerIndex
        self.writeInteger(UInt8(ascii: "{"))
        var members = JSONMembers()
        body(&members, &self)
        self.writeInteger(UInt8(ascii: "}"))
        return self.writerIndex - start
    }

    /// Appends a JSON array with one element per value, each written by `element`.
    @discardableResult
    public mutating func writeJSONArray<Element>(
        _ values: some Sequence<Element>,
        _ element: (Element, inout ByteBuffer) -> Void
    ) -> Int {
        let start = self.writerIndex
        self.writeInteger(UInt8(ascii: "["))
        var first = true
        for value in values {
            if !first { self.writeInteger(UInt8(ascii: ",")) }
            first = false
            element(value, &self)
        }
        self.writeInteger(UInt8(ascii: "]"))
        return self.writerIndex - start
    }
}
