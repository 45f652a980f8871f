/// A hashed timing wheel: coarse deadlines for many elements, advanced by one shared tick.
///
/// Each event loop keeps one wheel for all of its connections instead of one scheduled
/// task per connection. Deadlines are measured in ticks. Entries cannot be cancelled:
/// the owner re-checks an element's real deadline when it fires (lazy timers), so an
/// element that was rescheduled, or that went away, simply ignores the stale entry.
struct TimingWheel<Element> {
    private struct Entry {
        var deadline: UInt64
        var element: Element
    }

    private var slots: [[Entry]]
    private let mask: UInt64
    /// The last tick that was processed.
    private(set) var currentTick: UInt64 = 0
    /// Entries waiting in the wheel.
    private(set) var count = 0

    /// - Parameter slotCount: rounded up to a power of two. A deadline further away than
    ///   one revolution simply stays in its slot for more than one round.
    init(slotCount: Int = 512) {
        var size = 1
        while size < max(slotCount, 2) { size <<= 1 }
        self.slots = Array(repeating: [], count: size)
        self.mask = UInt64(size - 1)
    }

    /// Schedules `element` to fire at `deadline`; a deadline not in the future fires at the next tick.
    mutating func schedule(_ element: Element, at deadline: UInt64) {
        let deadline = max(deadline, self.currentTick + 1)
        self.slots[Int(deadline & self.mask)].append(Entry(deadline: deadline, element: element))
        self.count += 1
    }

    /// Processes every tick up to and including `tick`, returning the elements that fired.
    mutating func advance(to tick: UInt64) -> [Element] {
        var fired: [Element] = []
        // After a long stall, one revolution visits every slot once: that is enough.
        let revolution = self.mask + 1
        if tick > self.currentTick + revolution {
            self.currentTick = tick - revolution
        }
        while self.currentTick < tick {
            self.currentTick += 1
            let index = Int(self.currentTick & self.mask)
            if self.slots[index].isEmpty { continue }
            let before = self.slots[index].count
            self.slots[index].removeAll { entry in
                guard entry.deadline <= tick else { return false }
                fired.append(entry.element)
                return true
            }
            self.count -= before - self.slots[index].count
        }
        return fired
    }
}
