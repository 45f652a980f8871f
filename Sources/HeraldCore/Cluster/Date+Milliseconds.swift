#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Date {
    /// Milliseconds since 1970, to the nearest: how the cluster stores and sends a time.
    public var millisecondsSince1970: Int64 {
        let milliseconds = (self.timeIntervalSince1970 * 1000).rounded()
        // Clamped rather than trapping: a time this far off is a caller's bug, not a reason to crash.
        guard milliseconds > Double(Int64.min), milliseconds < Double(Int64.max) else {
            return milliseconds < 0 ? Int64.min : Int64.max
        }
        return Int64(milliseconds)
    }

    /// The time `milliseconds` after 1970.
    public init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
