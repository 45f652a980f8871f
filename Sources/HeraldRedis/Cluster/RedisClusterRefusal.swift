/// A cluster's answer that it ran nothing and the command may be sent again shortly:
/// `CLUSTERDOWN` (the cluster lost a primary and has not promoted its replica yet) or
/// `TRYAGAIN` (a multi-key command whose keys are split by a slot migration under way).
struct RedisClusterRefusal: Hashable, Sendable {
    /// Which refusal this is.
    enum Kind: Hashable, Sendable {
        case clusterDown
        case tryAgain
    }

    var kind: Kind

    /// The refusal carried by `error`, if it is one.
    init?(_ error: RedisClientError) {
        guard error.code == .commandError, let message = error.message else { return nil }
        self.init(errorMessage: message)
    }

    /// Reads an error line such as `CLUSTERDOWN The cluster is down`; `nil` for any other error.
    init?(errorMessage: String) {
        if errorMessage.hasPrefix("CLUSTERDOWN") {
            self.kind = .clusterDown
        } else if errorMessage.hasPrefix("TRYAGAIN") {
            self.kind = .tryAgain
        } else {
            return nil
        }
    }
}
