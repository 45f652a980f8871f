import Hummingbird

extension Request {
    /// The credential of `Authorization: Bearer <credential>`; `nil` without one.
    var bearerCredential: Substring? {
        guard let header = self.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1]
    }
}
