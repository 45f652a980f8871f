#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads settings that a flag did not give from `HERALD_*` environment variables.
public enum Environment {
    /// The variable's value, or nil when it is unset or empty.
    public static func string(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// The variable as a whole number, nil when unset; a ``CLIError`` when it is not one.
    public static func int(_ name: String) throws -> Int? {
        guard let text = Self.string(name) else { return nil }
        guard let value = Int(text) else { throw CLIError("\(name) must be a whole number, not \"\(text)\"") }
        return value
    }

    /// The variable as a finite number, nil when unset; a ``CLIError`` when it is not one.
    public static func double(_ name: String) throws -> Double? {
        guard let text = Self.string(name) else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw CLIError("\(name) must be a number, not \"\(text)\"")
        }
        return value
    }
}
