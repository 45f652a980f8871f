import Foundation

/// The file this process runs from, for a program that starts itself again (the bench's
/// local workers) or a sibling program (`herald bench` runs `herald-bench`).
public enum OwnExecutable {
    /// This process's executable: `/proc/self/exe` resolved, else what Foundation says.
    public static var url: URL? {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return Bundle.main.executableURL
    }

    /// The program called `name` in this executable's directory.
    public static func sibling(named name: String) -> URL? {
        Self.url?.deletingLastPathComponent().appendingPathComponent(name)
    }
}
