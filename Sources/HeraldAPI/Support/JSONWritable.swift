import NIOCore

/// An answer that writes its own JSON: byte for byte what ``JSONResponse``'s encoder writes
/// for it (sorted keys, unescaped slashes), without `JSONEncoder`. For the answers the push
/// endpoints give once per message, where encoding was a large share of the API's CPU.
protocol JSONWritable: Encodable {
    /// Appends the JSON text of `self`.
    func writeJSON(into buffer: inout ByteBuffer)
}
