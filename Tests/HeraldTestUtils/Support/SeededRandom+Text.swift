extension SeededRandom {
    /// Text of up to `maximumLength` scalars that JSON writers get wrong: ASCII with its
    /// control characters, every plane beyond it, and quotes, backslashes, slashes and the
    /// like more often than chance would give them.
    public mutating func jsonHostileText(maximumLength: Int) -> String {
        let scalars = (0..<Int.random(in: 0...maximumLength, using: &self)).compactMap { _ -> Unicode.Scalar? in
            switch Int.random(in: 0..<4, using: &self) {
            case 0: Unicode.Scalar(UInt8.random(in: 0...0x7F, using: &self))
            case 1: Unicode.Scalar(UInt32.random(in: 0x80...0xD7FF, using: &self))
            case 2: Unicode.Scalar(UInt32.random(in: 0xE000...0x10FFFF, using: &self))
            default: ["\"", "\\", "/", "\n", "\u{0}", "\u{1f}"].randomElement(using: &self)?.unicodeScalars.first
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }
}
