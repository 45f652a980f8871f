/// Checks that bytes hold one complete, well-formed RESP value, without allocating.
///
/// Scanning walks the bytes once and returns where the value ends, or `nil` when more bytes
/// are needed. It reads lengths digit by digit against the ``RESPLimits``, so a claimed
/// length is refused before anything trusts it. A value arriving in pieces is scanned again
/// from its start when the next piece arrives; replies are small and this keeps the decoder
/// stateless.
struct RESPScanner {
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let minus = UInt8(ascii: "-")
    private static let plus = UInt8(ascii: "+")

    let bytes: UnsafeRawBufferPointer
    let limits: RESPLimits

    /// The index just past the value that starts at `start`, or `nil` when the bytes end first.
    func scanValue(at start: Int, depth: Int = 0) throws(RESPParsingError) -> Int? {
        guard start < self.bytes.count else { return nil }
        guard let type = RESPTypeIdentifier(rawValue: self.bytes[start]) else {
            throw RESPParsingError(.invalidTypeIdentifier, offset: start)
        }
        let lineStart = start + 1
        guard let lineEnd = try self.lineEnd(from: lineStart) else { return nil }
        let next = lineEnd + 2
        switch type {
        case .simpleString, .simpleError:
            return next
        case .integer:
            guard Self.parseInteger(self.bytes, lineStart..<lineEnd) != nil else {
                throw RESPParsingError(.invalidInteger, offset: lineStart)
            }
            return next
        case .double:
            guard self.isDouble(lineStart..<lineEnd) else { throw RESPParsingError(.invalidDouble, offset: lineStart) }
            return next
        case .boolean:
            guard lineEnd - lineStart == 1, self.bytes[lineStart] == UInt8(ascii: "t") || self.bytes[lineStart] == UInt8(ascii: "f")
            else { throw RESPParsingError(.invalidBoolean, offset: lineStart) }
            return next
        case .null:
            guard lineEnd == lineStart else { throw RESPParsingError(.invalidNull, offset: lineStart) }
            return next
        case .bigNumber:
            guard self.isSignedDigits(lineStart..<lineEnd) else { throw RESPParsingError(.invalidBigNumber, offset: lineStart) }
            return next
        case .bulkString, .blobError, .verbatimString:
            let length = try self.length(
                lineStart..<lineEnd,
                allowsNull: type == .bulkString,
                maximum: self.limits.maximumBulkLength,
                tooLarge: .lengthTooLarge
            )
            guard length >= 0 else { return next }
            guard self.bytes.count - next >= length + 2 else { return nil }
            guard self.bytes[next + length] == Self.cr, self.bytes[next + length + 1] == Self.lf else {
                throw RESPParsingError(.missingTerminator, offset: next + length)
            }
            if type == .verbatimString, length < 4 || self.bytes[next + 3] != UInt8(ascii: ":") {
                throw RESPParsingError(.invalidVerbatimString, offset: next)
            }
            return next + length + 2
        case .array, .set, .push, .map, .attribute:
            guard depth < self.limits.maximumDepth else { throw RESPParsingError(.nestingTooDeep, offset: start) }
            let count = try self.length(
                lineStart..<lineEnd,
                allowsNull: type == .array,
                maximum: self.limits.maximumAggregateCount,
                tooLarge: .aggregateTooLarge
            )
            guard count >= 0 else { return next }
            let elements = type == .map || type == .attribute ? count * 2 : count
            var position = next
            for _ in 0..<elements {
                guard let end = try self.scanValue(at: position, depth: depth + 1) else { return nil }
                position = end
            }
            if type == .attribute {
                // Attributes describe the value that follows them: both make one reply.
                return try self.scanValue(at: position, depth: depth + 1)
            }
            return position
        }
    }

    /// The index of the CR that ends the line starting at `start`, or `nil` when it has not arrived.
    private func lineEnd(from start: Int) throws(RESPParsingError) -> Int? {
        var index = start
        while index < self.bytes.count {
            if index - start > self.limits.maximumLineLength {
                throw RESPParsingError(.lineTooLong, offset: start)
            }
            switch self.bytes[index] {
            case Self.cr:
                guard index + 1 < self.bytes.count else { return nil }
                guard self.bytes[index + 1] == Self.lf else { throw RESPParsingError(.invalidLineEnding, offset: index) }
                return index
            case Self.lf:
                throw RESPParsingError(.invalidLineEnding, offset: index)
            default:
                index += 1
            }
        }
        if index - start > self.limits.maximumLineLength {
            throw RESPParsingError(.lineTooLong, offset: start)
        }
        return nil
    }

    /// A length or count: digits up to `maximum`, or `-1` (null) where `allowsNull`.
    private func length(
        _ range: Range<Int>,
        allowsNull: Bool,
        maximum: Int,
        tooLarge: RESPParsingError.Code
    ) throws(RESPParsingError) -> Int {
        guard !range.isEmpty else { throw RESPParsingError(.invalidLength, offset: range.lowerBound) }
        if self.bytes[range.lowerBound] == Self.minus {
            guard allowsNull, range.count == 2, self.bytes[range.lowerBound + 1] == UInt8(ascii: "1") else {
                throw RESPParsingError(.invalidLength, offset: range.lowerBound)
            }
            return -1
        }
        var value = 0
        for index in range {
            let digit = Int(self.bytes[index]) - Int(UInt8(ascii: "0"))
            guard digit >= 0, digit <= 9 else { throw RESPParsingError(.invalidLength, offset: index) }
            value = value * 10 + digit
            // Checked per digit, so the value never overflows and is never trusted over the limit.
            guard value <= maximum else { throw RESPParsingError(tooLarge, offset: range.lowerBound) }
        }
        return value
    }

    /// A signed 64-bit decimal integer, or `nil` when the bytes are not one.
    static func parseInteger(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        guard !range.isEmpty else { return nil }
        var index = range.lowerBound
        var negative = false
        if bytes[index] == minus || bytes[index] == plus {
            negative = bytes[index] == minus
            index += 1
        }
        guard index < range.upperBound else { return nil }
        var value: Int64 = 0
        while index < range.upperBound {
            let digit = Int64(bytes[index]) - Int64(UInt8(ascii: "0"))
            guard digit >= 0, digit <= 9 else { return nil }
            // Accumulated as a negative number so that Int64.min fits.
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    private func isSignedDigits(_ range: Range<Int>) -> Bool {
        var index = range.lowerBound
        if index < range.upperBound, self.bytes[index] == Self.minus || self.bytes[index] == Self.plus { index += 1 }
        guard index < range.upperBound else { return false }
        return self.isDigits(index..<range.upperBound)
    }

    private func isDigits(_ range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return false }
        for index in range where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[index]) {
            return false
        }
        return true
    }

    /// RESP3's doubles: `[sign]digits[.digits][e[sign]digits]`, `inf`, `-inf` or `nan`.
    private func isDouble(_ range: Range<Int>) -> Bool {
        var index = range.lowerBound
        if index < range.upperBound, self.bytes[index] == Self.minus || self.bytes[index] == Self.plus { index += 1 }
        let rest = index..<range.upperBound
        if self.matches(rest, "inf") || (index == range.lowerBound && self.matches(rest, "nan")) { return true }
        var digitsEnd = index
        while digitsEnd < range.upperBound, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[digitsEnd]) {
            digitsEnd += 1
        }
        guard digitsEnd > index else { return false }
        index = digitsEnd
        if index < range.upperBound, self.bytes[index] == UInt8(ascii: ".") {
            var fractionEnd = index + 1
            while fractionEnd < range.upperBound, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[fractionEnd]) {
                fractionEnd += 1
            }
            guard fractionEnd > index + 1 else { return false }
            index = fractionEnd
        }
        if index < range.upperBound, self.bytes[index] == UInt8(ascii: "e") || self.bytes[index] == UInt8(ascii: "E") {
            index += 1
            return self.isSignedDigits(index..<range.upperBound)
        }
        return index == range.upperBound
    }

    private func matches(_ range: Range<Int>, _ word: StaticString) -> Bool {
        guard range.count == word.utf8CodeUnitCount else { return false }
        return word.withUTF8Buffer { word in
            zip(range, word).allSatisfy { self.bytes[$0.0] | 0x20 == $0.1 }
        }
    }
}
