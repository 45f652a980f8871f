import HeraldCore

extension AuthFailureLimiter {
    /// Throws 429 when the request's source address has to wait; requests without an
    /// address (through no socket) are not limited.
    func check(_ context: APIRequestContext) throws(APIError) {
        guard let address = context.sourceAddress, let wait = self.retryAfter(address) else { return }
        throw APIError.tooManyFailedAuthentications(retryAfter: wait)
    }

    /// Counts a failed authentication against the request's source address.
    func recordFailure(_ context: APIRequestContext) {
        guard let address = context.sourceAddress else { return }
        self.recordFailure(address)
    }

    /// Whether `credential` is `expected`, compared in constant time; a mismatch counts as a
    /// failed authentication of the request's source address. With no `expected` (an app that
    /// does not exist) it never matches, after a comparison of the same cost, so that answer
    /// cannot be told from a wrong secret by its time.
    func verify(_ credential: some StringProtocol, matches expected: String?, context: APIRequestContext) -> Bool {
        let equal = ConstantTime.equals(credential, expected ?? Self.placeholderSecret)
        let matches = equal && expected != nil
        if !matches { self.recordFailure(context) }
        return matches
    }

    /// Compared against when there is nothing to compare against.
    private static let placeholderSecret = SecretGenerator.make()
}
