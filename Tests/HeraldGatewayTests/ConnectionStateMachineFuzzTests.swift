import Testing

@testable import HeraldGateway

/// Random event sequences from fixed seeds, with the invariants checked after every step
/// (``ConnectionFuzzDriver``). A debug build stops on an event the machine finds impossible,
/// so reaching one fails the run. Longer runs: scripts/fuzz (docs/reliability.md).
@Suite struct ConnectionStateMachineFuzzTests {
    @Test(arguments: 0..<200)
    func randomEventsKeepTheInvariants(seed: Int) {
        var driver = ConnectionFuzzDriver(seed: UInt64(seed))
        for _ in 0..<500 {
            driver.step()
        }
        #expect(driver.steps == 500)
    }
}
