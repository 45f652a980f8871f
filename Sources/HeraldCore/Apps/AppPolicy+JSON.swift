#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension AppPolicy {
    /// The policy as stores keep it: JSON with sorted keys, so fields added later take their
    /// defaults when an older row is read.
    public func storedJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Reads a policy kept by ``storedJSON()``.
    public init(storedJSON json: String) throws {
        self = try JSONDecoder().decode(AppPolicy.self, from: Data(json.utf8))
    }
}
