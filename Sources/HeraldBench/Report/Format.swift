/// Number formatting for the progress line and the table, without locale surprises.
enum Format {
    /// `value` with `digits` decimals (rounded half away from zero).
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "-" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<max(0, digits) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return "\(value)" }
        let whole = Int(scaled)
        let sign = value < 0 && whole != 0 ? "-" : ""
        guard digits > 0 else { return sign + String(whole) }
        let integer = whole / Int(scale)
        var fraction = String(whole % Int(scale))
        while fraction.count < digits { fraction = "0" + fraction }
        return "\(sign)\(integer).\(fraction)"
    }

    /// `value` with thousands separated by commas: `1,234,567`.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return (value < 0 ? "-" : "") + result
    }

    /// A rate or amount with three significant figures and k/M: `1.23M`, `45.6k`, `789`.
    static func short(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e9 { return Self.significant(value / 1e9) + "G" }
        if magnitude >= 1e6 { return Self.significant(value / 1e6) + "M" }
        if magnitude >= 1e4 { return Self.significant(value / 1e3) + "k" }
        return Self.fixed(value, magnitude >= 100 || value == value.rounded() ? 0 : 1)
    }

    /// Bytes in B, KiB, MiB or GiB.
    static func bytes(_ value: Double) -> String {
        let magnitude = abs(value)
        let kibibyte = 1024.0
        let mebibyte = kibibyte * 1024
        let gibibyte = mebibyte * 1024
        if magnitude >= gibibyte { return Self.fixed(value / gibibyte, 2) + " GiB" }
        if magnitude >= mebibyte { return Self.fixed(value / mebibyte, 1) + " MiB" }
        if magnitude >= kibibyte { return Self.fixed(value / kibibyte, 2) + " KiB" }
        return Self.fixed(value, 0) + " B"
    }

    /// Milliseconds with precision to suit: `0.412`, `12.3`, `1234`.
    static func milliseconds(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1000 { return Self.fixed(value, 0) }
        if magnitude >= 100 { return Self.fixed(value, 1) }
        if magnitude >= 10 { return Self.fixed(value, 2) }
        return Self.fixed(value, 3)
    }

    /// `text` padded with spaces to `width` on the left (right-aligned).
    static func left(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    /// `text` padded with spaces to `width` on the right (left-aligned).
    static func right(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private static func significant(_ value: Double) -> String {
        let magnitude = abs(value)
        return Self.fixed(value, magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2)
    }
}
