import Testing

@testable import HeraldGateway

@Suite struct TimingWheelTests {
    @Test func firesAtTheDeadlineNotBefore() {
        var wheel = TimingWheel<Int>(slotCount: 8)
        wheel.schedule(1, at: 3)
        wheel.schedule(2, at: 5)
        #expect(wheel.advance(to: 2).isEmpty)
        #expect(wheel.advance(to: 3) == [1])
        #expect(wheel.advance(to: 4).isEmpty)
        #expect(wheel.advance(to: 5) == [2])
        #expect(wheel.count == 0)
    }

    @Test func deadlinesBeyondOneRevolutionWait() {
        var wheel = TimingWheel<Int>(slotCount: 4)
        wheel.schedule(7, at: 10)
        for tick: UInt64 in 1...9 {
            #expect(wheel.advance(to: tick).isEmpty)
        }
        #expect(wheel.advance(to: 10) == [7])
    }

    @Test func pastDeadlinesFireOnTheNextTick() {
        var wheel = TimingWheel<Int>(slotCount: 8)
        _ = wheel.advance(to: 5)
        wheel.schedule(1, at: 2)
        #expect(wheel.advance(to: 6) == [1])
    }

    @Test func catchingUpAfterAStallFiresEverythingDue() {
        var wheel = TimingWheel<Int>(slotCount: 4)
        wheel.schedule(1, at: 2)
        wheel.schedule(2, at: 9)
        wheel.schedule(3, at: 30)
        #expect(Set(wheel.advance(to: 20)) == [1, 2])
        #expect(wheel.count == 1)
        #expect(wheel.advance(to: 30) == [3])
    }

    @Test func manyElementsInOneSlot() {
        var wheel = TimingWheel<Int>(slotCount: 2)
        for element in 0..<100 {
            wheel.schedule(element, at: UInt64(1 + element % 3))
        }
        var fired: [Int] = []
        for tick: UInt64 in 1...3 {
            fired += wheel.advance(to: tick)
        }
        #expect(fired.sorted() == Array(0..<100))
    }
}
