import Logging

/// Logging for the bench commands: everything to stderr (an agent's stdout is its protocol).
enum BenchLogging {
    static func bootstrap(label: String, level: String) -> Logger {
        let level = Logger.Level(rawValue: level.lowercased()) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}
