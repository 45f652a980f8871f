/// Reads `--source-addresses`: a comma-separated list of addresses and IPv4 ranges,
/// `127.0.0.2-127.0.0.9,127.0.1.1`.
public enum SourceAddresses {
    /// The most addresses one range may expand to.
    public static let maximumCount = 4096

    /// The addresses `text` names, in order.
    public static func parse(_ text: String) throws -> [String] {
        var addresses: [String] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            let item = part.trimmingWhitespace()
            guard !item.isEmpty else { continue }
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 1 {
                addresses.append(String(item))
                continue
            }
            guard bounds.count == 2, let low = Self.ipv4(bounds[0]), let high = Self.ipv4(bounds[1]), low <= high
            else { throw BenchError("\"\(item)\" is not an IPv4 range like 127.0.0.2-127.0.0.9") }
            guard high - low < UInt32(Self.maximumCount) else {
                throw BenchError("the range \(item) holds more than \(Self.maximumCount) addresses")
            }
            for value in low...high { addresses.append(Self.format(value)) }
        }
        guard addresses.count <= Self.maximumCount else {
            throw BenchError("more than \(Self.maximumCount) source addresses")
        }
        return addresses
    }

    static func ipv4(_ text: Substring) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    static func format(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var text = self
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
