import HeraldCore
import HeraldWire

/// A session's replay as it is written, page by page: the pushes to write and how far the
/// writing got. A class so that an idle connection keeps only a reference, and so that a
/// page's completion can tell whether it still belongs to the replay under way.
final class ReplayPages {
    /// The session being replayed.
    let session: UInt16
    private let pushes: [ReplayPlan.Push]
    private var position = 0
    /// The highest inbox sequence written so far: held live copies at or below it are dropped.
    private(set) var highestUserSequence: UInt32 = 0

    init(session: UInt16, pushes: [ReplayPlan.Push]) {
        self.session = session
        self.pushes = pushes
    }

    /// Whether every push was handed out.
    var isFinished: Bool { self.position >= self.pushes.count }

    /// The next push to write, if any.
    func next() -> ReplayPlan.Push? {
        guard self.position < self.pushes.count else { return nil }
        let push = self.pushes[self.position]
        self.position += 1
        if push.kind == .user { self.highestUserSequence = max(self.highestUserSequence, push.seq) }
        return push
    }
}
