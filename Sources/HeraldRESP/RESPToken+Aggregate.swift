import NIOCore

extension RESPToken {
    /// The elements of an array, set or push, decoded one at a time as they are iterated.
    public struct Aggregate: Sequence, Hashable, Sendable {
        /// How many elements there are.
        public let count: Int
        let elements: ByteBuffer

        init(count: Int, elements: ByteBuffer) {
            self.count = count
            self.elements = elements
        }

        public func makeIterator() -> Iterator {
            Iterator(remaining: self.count, buffer: self.elements)
        }

        /// Walks the elements of an aggregate in order.
        public struct Iterator: IteratorProtocol {
            private var remaining: Int
            private var buffer: ByteBuffer

            init(remaining: Int, buffer: ByteBuffer) {
                self.remaining = remaining
                self.buffer = buffer
            }

            public mutating func next() -> RESPToken? {
                guard self.remaining > 0 else { return nil }
                self.remaining -= 1
                return RESPToken.readValidated(from: &self.buffer)
            }
        }

        /// The elements as an array of tokens.
        public var tokens: [RESPToken] {
            Swift.Array(self)
        }
    }

    /// The pairs of a map or attribute, decoded one at a time as they are iterated.
    public struct Map: Sequence, Hashable, Sendable {
        /// How many key and value pairs there are.
        public let count: Int
        let elements: ByteBuffer

        init(count: Int, elements: ByteBuffer) {
            self.count = count
            self.elements = elements
        }

        public func makeIterator() -> Iterator {
            Iterator(elements: Aggregate(count: self.count * 2, elements: self.elements).makeIterator())
        }

        /// Walks the pairs of a map in order: its keys and values are the elements of an
        /// aggregate twice as long, taken two at a time.
        public struct Iterator: IteratorProtocol {
            private var elements: Aggregate.Iterator

            init(elements: Aggregate.Iterator) {
                self.elements = elements
            }

            public mutating func next() -> (key: RESPToken, value: RESPToken)? {
                guard let key = self.elements.next(), let value = self.elements.next() else { return nil }
                return (key, value)
            }
        }

        /// The value of the first pair whose key is the string `key`.
        public subscript(key: String) -> RESPToken? {
            self.first { $0.key.string == key }?.value
        }
    }

    /// Reads one value from bytes that were already validated.
    static func readValidated(from buffer: inout ByteBuffer) -> RESPToken? {
        let end = buffer.withUnsafeReadableBytes { bytes in
            try? RESPScanner(bytes: bytes, limits: .validated).scanValue(at: 0)
        }
        guard let end, let slice = buffer.readSlice(length: end) else { return nil }
        return RESPToken(validated: slice)
    }
}
