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
        buffer.writeString(String(value))
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

    private mutating func key(_ key: StaticString, in buffer: inout ByteBuffer) {
        if self.count > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
        self.count += 1
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(key)
        buffer.writeString("\":")
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
}
