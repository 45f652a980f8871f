/// Errors of an ``AppCatalog``.
public enum AppCatalogError: Error, Sendable, Hashable {
    case alreadyExists(String)
    /// The app holds ``SigningKey/maximumPerApp`` signing keys already.
    case tooManySigningKeys(String)
}
