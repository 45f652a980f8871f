extension KeyedDecodingContainer {
    /// `decodeIfPresent(Int.self, forKey:)`, except that a number that is not a whole
    /// number or does not fit (`1.5`, `1e30`) fails at `key`.
    ///
    /// swift-foundation's decoder throws its internal parse error for such a number, which
    /// `JSONDecoder.decode` then reports as "not valid JSON" with an empty coding path,
    /// blaming the whole body instead of the field.
    func decodeIntegerIfPresent(forKey key: Key) throws -> Int? {
        do {
            return try self.decodeIfPresent(Int.self, forKey: key)
        } catch let error as DecodingError {
            throw error
        } catch {
            // The body already parsed as JSON before any container existed: this is the number.
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: self.codingPath + [key],
                    debugDescription: "expected a whole number from \(Int.min) to \(Int.max)"
                )
            )
        }
    }
}
