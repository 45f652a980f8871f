#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads settings that a flag did not give from `HERALD_*` environment variables.
enum Environment {
    static func string(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func int(_ name: String) throws -> Int? {
        guard let text = Self.string(name) else { return nil }
        guard let value = Int(text) else { throw CLIError("\(name) must be a whole number, not \"\(text)\"") }
        return value
    }

    static func double(_ name: String) throws -> Double? {
        guard let text = Self.string(name) else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw CLIError("\(name) must be a number, not \"\(text)\"")
        }
        return value
    }
}
