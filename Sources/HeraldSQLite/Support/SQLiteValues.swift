import HeraldCore
import NIOCore
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// How Herald's values are written to and read from its SQLite tables: times as REAL
// seconds since 1970, sequences as INTEGER, payloads as BLOB.

extension SQLiteData {
    static func timestamp(_ date: Date) -> SQLiteData {
        .float(date.timeIntervalSince1970)
    }

    static func sequence(_ seq: UInt32) -> SQLiteData {
        .integer(SQLiteInt64(seq))
    }

    static func count(_ value: Int) -> SQLiteData {
        .integer(SQLiteInt64(value))
    }
}

extension SQLiteRow {
    /// A sequence column; a value outside `UInt32` means the table was written by something else.
    func sequence(_ name: String) throws -> UInt32 {
        guard let value = self.column(name)?.integer, let seq = UInt32(exactly: value) else {
            throw MessageStoreError.unavailable("SQLite: column \(name) does not hold a sequence")
        }
        return seq
    }

    func timestamp(_ name: String) throws -> Date {
        guard let value = self.column(name)?.double else {
            throw MessageStoreError.unavailable("SQLite: column \(name) does not hold a time")
        }
        return Date(timeIntervalSince1970: value)
    }

    func text(_ name: String) throws -> String {
        guard let value = self.column(name)?.string else {
            throw MessageStoreError.unavailable("SQLite: column \(name) does not hold text")
        }
        return value
    }

    func payload(_ name: String = "payload") throws -> ByteBuffer {
        guard let value = self.column(name)?.blob else {
            throw MessageStoreError.unavailable("SQLite: column \(name) does not hold a payload")
        }
        return value
    }
}
