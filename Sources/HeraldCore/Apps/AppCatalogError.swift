/// Errors of an ``AppCatalog``.
public enum AppCatalogError: Error, Sendable, Hashable {
    case alreadyExists(String)
}
