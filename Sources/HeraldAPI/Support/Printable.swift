/// Makes client-supplied text safe to echo in an error message or a log line.
enum Printable {
    static func clip(_ text: some StringProtocol, limit: Int = 64) -> String {
        let scalars = text.unicodeScalars.prefix(limit).filter { $0.properties.generalCategory != .control }
        let clipped = String(String.UnicodeScalarView(scalars))
        return text.unicodeScalars.count > limit ? clipped + "…" : clipped
    }
}
