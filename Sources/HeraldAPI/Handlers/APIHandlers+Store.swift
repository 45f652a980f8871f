import HeraldCore

extension APIHandlers {
    /// Runs a call to a store port. A ``MessageStoreError`` gets its answer from
    /// ``APIError/init(_:operation:)``; any other failure than the ones callers handle (a
    /// duplicate app) is answered 503, since the request may succeed once the store is back.
    func storeCall<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AppCatalogError {
            throw error
        } catch let error as APIError {
            throw error
        } catch let error as MessageStoreError {
            throw APIError(error, operation: what)
        } catch {
            throw APIError.storeUnavailable(operation: what)
        }
    }
}
