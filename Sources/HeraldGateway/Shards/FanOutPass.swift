import NIOCore

/// One pass of a shard's fan-out: the messages that were queued when it began, each group
/// with the sessions its target had then, handed out one session at a time so that the
/// shard can write a slice of them and give the loop back.
///
/// The sessions are a snapshot (a copy of the index's set, which costs nothing until the
/// index changes): a session that opens during the pass waits for the next pass, and one that
/// ends is skipped because its connection no longer has it. Messages queued while the pass
/// runs go to the next pass, which carries all of them in one write per connection.
struct FanOutPass {
    private struct Group {
        var pushes: [FanOutQueue.Push]
        var sessions: Set<SessionKey>
        var position: Set<SessionKey>.Index
        /// The group's messages encoded once per session number (almost always just 1).
        var batches: [UInt16: PushBatch] = [:]
    }

    private var groups: [Group] = []
    private var current = 0

    /// A pass over `queued`, each group going to the sessions `sessions` gives its target now.
    init(
        _ queued: [(target: FanOutQueue.Target, pushes: [FanOutQueue.Push])],
        sessions: (FanOutQueue.Target) -> Set<SessionKey>?
    ) {
        self.groups.reserveCapacity(queued.count)
        for (target, pushes) in queued {
            guard let targets = sessions(target), !targets.isEmpty else { continue }
            self.groups.append(Group(pushes: pushes, sessions: targets, position: targets.startIndex))
        }
    }

    /// Whether every session of every group was handed out.
    var isFinished: Bool { self.current >= self.groups.count }

    /// The next session to write and what to write to it, or nil at the end of the pass.
    mutating func next() -> (key: SessionKey, batch: PushBatch)? {
        while self.current < self.groups.count {
            let position = self.groups[self.current].position
            guard position != self.groups[self.current].sessions.endIndex else {
                // Done with this group: let its snapshot go before the next one starts.
                self.groups[self.current] = Group(pushes: [], sessions: [], position: Set<SessionKey>().startIndex)
                self.current += 1
                continue
            }
            let key = self.groups[self.current].sessions[position]
            var following = position
            self.groups[self.current].sessions.formIndex(after: &following)
            self.groups[self.current].position = following
            if let batch = self.groups[self.current].batches[key.session] {
                return (key, batch)
            }
            let batch = PushBatch(self.groups[self.current].pushes, session: key.session)
            self.groups[self.current].batches[key.session] = batch
            return (key, batch)
        }
        return nil
    }
}
