import Foundation
import NIOConcurrencyHelpers

/// Shows the progress line on stderr: rewritten in place on a terminal, one line per second
/// otherwise (so logs of CI runs keep every line).
final class BenchProgressOutput: Sendable {
    private let enabled: Bool
    private let terminal: Bool
    private let shown = NIOLockedValueBox(false)

    init(enabled: Bool) {
        self.enabled = enabled
        self.terminal = isatty(STDERR_FILENO) != 0
    }

    func show(_ line: String) {
        guard self.enabled else { return }
        self.shown.withLockedValue { shown in
            shown = true
            if self.terminal {
                FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            } else {
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
    }

    /// Ends the line on a terminal, so that the table starts on its own.
    func finish() {
        guard self.enabled, self.terminal else { return }
        self.shown.withLockedValue { shown in
            if shown { FileHandle.standardError.write(Data("\n".utf8)) }
            shown = false
        }
    }
}
