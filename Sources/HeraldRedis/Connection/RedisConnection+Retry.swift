import HeraldRESP
import Logging
import NIOCore

extension RedisConnection {
    /// Connects, retrying with the configuration's backoff up to `attempts` times (by default
    /// the configuration's `maximumAttempts`). Refused credentials are not retried.
    static func connectRetrying(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop,
        logger: Logger,
        attempts: Int? = nil,
        onPush: (@Sendable (RESPToken) -> Void)? = nil
    ) async throws -> RedisConnection {
        let attempts = attempts ?? configuration.backoff.maximumAttempts
        var attempt = 0
        while true {
            do {
                return try await RedisConnection.connect(configuration: configuration, eventLoop: eventLoop, logger: logger, onPush: onPush)
            } catch let error as RedisClientError where error.code == .authenticationFailed || error.code == .handshakeFailed {
                throw error  // retrying would be refused the same way
            } catch {
                attempt += 1
                guard attempt < attempts, !Task.isCancelled else { throw error }
                let delay = configuration.backoff.delay(afterAttempt: attempt - 1)
                logger.debug(
                    "Connecting to Redis failed; trying again.",
                    metadata: ["error": "\(error)", "attempt": "\(attempt)", "delay_ms": "\(delay.nanoseconds / 1_000_000)"]
                )
                try await Task.sleep(nanoseconds: UInt64(delay.nanoseconds))
            }
        }
    }
}
