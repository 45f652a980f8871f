/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
///
/// For state the server reaches asynchronously (a session registered, a connection
/// counted), where a fixed sleep would be either flaky or slow. The default bound is generous:
/// it runs out only when the test fails anyway, and the whole suite at once can keep a
/// 2-core machine busy for seconds.
public func eventually(
    timeout: Duration = .seconds(20),
    interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}
