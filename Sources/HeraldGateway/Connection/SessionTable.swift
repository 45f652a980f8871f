/// The open sessions of one connection, by session number.
///
/// Almost every connection has exactly one session, so the first is kept inline and only
/// the others go to a dictionary: an empty dictionary allocates nothing, and a dictionary
/// per connection would cost each of them about 150 bytes.
struct SessionTable: Sendable, Hashable {
    typealias Session = ConnectionStateMachine.Session

    private var first: Session?
    private var others: [UInt16: Session] = [:]

    init() {}

    var count: Int { (self.first == nil ? 0 : 1) + self.others.count }

    var isEmpty: Bool { self.first == nil && self.others.isEmpty }

    /// The session numbers, in no particular order.
    var keys: [UInt16] { self.values.map(\.number) }

    /// The sessions, in no particular order.
    var values: [Session] {
        var values: [Session] = []
        values.reserveCapacity(self.count)
        if let first = self.first { values.append(first) }
        values.append(contentsOf: self.others.values)
        return values
    }

    /// Whether session `number` is open. Reads only the numbers: copying a session out
    /// retains its five references, and a fan-out pass asks this of every connection.
    func contains(_ number: UInt16) -> Bool {
        if self.first?.number == number { return true }
        return !self.others.isEmpty && self.others[number] != nil
    }

    /// The highest broadcast sequence written to session `number`, if it is open. Reads the
    /// one field in place, as ``contains(_:)`` does, for the fan-out pass.
    func writtenBroadcastSequence(of number: UInt16) -> UInt32? {
        if self.first?.number == number { return self.first?.writtenBroadcastSequence }
        return self.others.isEmpty ? nil : self.others[number]?.writtenBroadcastSequence
    }

    /// Raises the highest broadcast sequence written to session `number` to `seq`.
    mutating func noteWrittenBroadcast(_ seq: UInt32, of number: UInt16) {
        if self.first?.number == number {
            if let written = self.first?.writtenBroadcastSequence, seq > written {
                self.first?.writtenBroadcastSequence = seq
            }
        } else if let written = self.others[number]?.writtenBroadcastSequence, seq > written {
            self.others[number]?.writtenBroadcastSequence = seq
        }
    }

    /// Raises the highest user-message sequence sent to session `number` to `seq`.
    mutating func noteSentUser(_ seq: UInt32, of number: UInt16) {
        if self.first?.number == number {
            if let sent = self.first?.sentUserSequence, seq > sent {
                self.first?.sentUserSequence = seq
            }
        } else if let sent = self.others[number]?.sentUserSequence, seq > sent {
            self.others[number]?.sentUserSequence = seq
        }
    }

    /// The first session that matches, if any.
    func first(where predicate: (Session) -> Bool) -> Session? {
        if let first = self.first, predicate(first) { return first }
        return self.others.values.first(where: predicate)
    }

    subscript(number: UInt16) -> Session? {
        get {
            if let first = self.first, first.number == number { return first }
            return self.others.isEmpty ? nil : self.others[number]
        }
        set {
            if let first = self.first, first.number == number {
                self.first = newValue
                if newValue == nil { self.promoteOther() }
            } else if self.first == nil {
                // Empty: `others` is only used while the inline slot is taken.
                self.first = newValue
            } else {
                self.others[number] = newValue
            }
        }
    }

    /// Removes and returns the session `number`.
    @discardableResult
    mutating func removeValue(forKey number: UInt16) -> Session? {
        let session = self[number]
        if session != nil { self[number] = nil }
        return session
    }

    mutating func removeAll() {
        self.first = nil
        self.others = [:]
    }

    /// Keeps the inline slot filled while any session is open.
    private mutating func promoteOther() {
        guard let next = self.others.first?.value else { return }
        self.others[next.number] = nil
        self.first = next
    }
}
