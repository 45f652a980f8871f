/// Topic names: 1 to 255 bytes of UTF-8 (a PUSH carries the length in one byte), no `*`.
public enum Topic {
    public static let maximumLength = 255

    public static func isValidName(_ name: String) -> Bool {
        (1...Self.maximumLength).contains(name.utf8.count) && !name.utf8.contains(UInt8(ascii: "*"))
    }
}
