extension APIService: CustomStringConvertible {
    /// How ServiceLifecycle's logs name the service: a name, never a dump of its settings,
    /// which hold the admin key.
    var description: String { "the HTTP API" }
}
