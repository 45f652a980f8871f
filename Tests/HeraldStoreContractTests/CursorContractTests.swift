import HeraldCore
import NIOCore
import Testing

extension MessageStoreContract {
    /// Acknowledgement cursors and what a device is replayed.
    @Suite("Cursors and replay")
    struct CursorContractTests {
        @Test(arguments: StoreKind.allCases)
        func cursorsOnlyGrowAndStopAtTheLastSequence(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                for index in 1...3 { try await store.push(app: app, users: ["u"], "m\(index)") }

                try await store.acknowledge([InboxAcknowledgement(app: app, user: "u", device: "phone", seq: 2)])
                #expect(try await store.replay(app: app, user: "u", device: "phone").cursor == 2)
                // Never backwards.
                try await store.acknowledge([InboxAcknowledgement(app: app, user: "u", device: "phone", seq: 1)])
                #expect(try await store.replay(app: app, user: "u", device: "phone").cursor == 2)
                // Never past what was sent.
                try await store.acknowledge([InboxAcknowledgement(app: app, user: "u", device: "phone", seq: 99)])
                #expect(try await store.replay(app: app, user: "u", device: "phone").cursor == 3)
                // Per device.
                #expect(try await store.replay(app: app, user: "u", device: "laptop").cursor == 0)

                // A batch with several acknowledgements of one device keeps the highest.
                try await store.push(app: app, users: ["u"], "m4")
                try await store.acknowledge([
                    InboxAcknowledgement(app: app, user: "u", device: "laptop", seq: 4),
                    InboxAcknowledgement(app: app, user: "u", device: "laptop", seq: 1),
                    InboxAcknowledgement(app: app, user: "u", device: "phone", seq: 4),
                ])
                #expect(try await store.replay(app: app, user: "u", device: "laptop").cursor == 4)
                #expect(try await store.replay(app: app, user: "u", device: "phone").cursor == 4)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func acknowledgingAnUnknownUserDoesNothing(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                try await store.acknowledge([InboxAcknowledgement(app: app, user: "ghost", device: "phone", seq: 5)])
                #expect(try await store.lastInboxSequence(app: app, user: "ghost") == 0)
                #expect(try await store.replay(app: app, user: "ghost").cursor == 0)

                // The earlier acknowledgement did not survive to hide the first message.
                try await store.push(app: app, users: ["ghost"], "first")
                let replay = try await store.replay(app: app, user: "ghost")
                #expect(replay.cursor == 0)
                #expect(replay.texts == ["first"])
                try await store.acknowledge([])
            }
        }

        @Test(arguments: StoreKind.allCases)
        func replayStartsAboveTheHigherOfCursorAndResumePoint(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                for index in 1...5 { try await store.push(app: app, users: ["u"], "m\(index)") }
                try await store.acknowledge([InboxAcknowledgement(app: app, user: "u", device: "phone", seq: 2)])

                #expect(try await store.replay(app: app, user: "u", device: "phone", after: 0).sequences == [3, 4, 5])
                #expect(try await store.replay(app: app, user: "u", device: "phone", after: 4).sequences == [5])
                #expect(try await store.replay(app: app, user: "u", device: "phone", after: 5).sequences == [])
                #expect(
                    try await store.replay(app: app, user: "u", device: "laptop", after: 0).sequences == [
                        1, 2, 3, 4, 5,
                    ])
                #expect(try await store.replay(app: app, user: "u", device: "laptop", after: 3).texts == ["m4", "m5"])
                // A resume point past the last sequence (a foreign epoch) replays nothing.
                let foreign = try await store.replay(app: app, user: "u", device: "laptop", after: 1000)
                #expect(foreign.messages.isEmpty)
                #expect(foreign.lastSequence == 5)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func acknowledgedMessagesStayUntilTheyExpire(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                for index in 1...2 { try await store.push(app: app, users: ["u"], "m\(index)", ttl: .seconds(60)) }
                try await store.acknowledge([InboxAcknowledgement(app: app, user: "u", device: "phone", seq: 2)])
                // Another device of the user still gets them.
                #expect(try await store.replay(app: app, user: "u", device: "laptop").sequences == [1, 2])
            }
        }
    }
}
