/// The sessions a request's users have on other nodes.
struct RemoteSessions {
    /// Each user's sessions elsewhere, by the user's bytes.
    var sessions: [ByteString: [SessionInfo]] = [:]
    /// The users each other node holds.
    var usersByNode: [ByteString: [String]] = [:]

    /// The remote sessions of `users`, each user once however often listed.
    func count(_ users: [String]) -> Int {
        var seen = Set<ByteString>()
        return users.reduce(0) { total, user in
            let key = ByteString(user)
            guard seen.insert(key).inserted else { return total }
            return total + (self.sessions[key]?.count ?? 0)
        }
    }

    /// The remote sessions of one user.
    func count(of user: String) -> Int {
        self.sessions[ByteString(user)]?.count ?? 0
    }
}
