import HeraldCore
import Synchronization
import Testing

@Suite struct GroupCommitterTests {
    struct Refused: Error, Equatable {}

    @Test func concurrentRequestsShareCommitsAndEachGetsItsOwnResult() async throws {
        let batches = Mutex<[[Int]]>([])
        let committer = GroupCommitter<Int, Int>(maxBatch: 64) { requests in
            batches.withLock { $0.append(requests) }
            // Long enough that the other callers queue behind the first commit.
            try await Task.sleep(for: .milliseconds(20))
            return requests.map { $0 == 13 ? .failure(Refused()) : .success($0 * 10) }
        }
        let results = await withTaskGroup(of: (Int, Result<Int, any Error>).self) { group in
            for request in 0..<200 {
                group.addTask {
                    do {
                        return (request, .success(try await committer.submit(request)))
                    } catch {
                        return (request, .failure(error))
                    }
                }
            }
            return await group.reduce(into: [Int: Result<Int, any Error>]()) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 200)
        for (request, result) in results {
            switch result {
            case .success(let value):
                #expect(value == request * 10)
            case .failure(let error):
                #expect(request == 13)
                #expect(error is Refused)
            }
        }
        let committed = batches.withLock { $0 }
        #expect(committed.flatMap { $0 }.sorted() == Array(0..<200))
        #expect(committed.count < 200 / 4, "\(committed.count) commits for 200 concurrent requests")
        #expect(committed.allSatisfy { $0.count <= 64 })
    }

    @Test func aThrowingCommitFailsItsBatchOnly() async throws {
        let calls = Mutex(0)
        let committer = GroupCommitter<Int, Int> { requests in
            let call = calls.withLock { value in
                value += 1
                return value
            }
            if call == 1 { throw Refused() }
            return requests.map { .success($0) }
        }
        await #expect(throws: Refused.self) { try await committer.submit(1) }
        #expect(try await committer.submit(2) == 2)
    }
}
