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
}
