/// The server answered the WebSocket upgrade request with something other than 101.
struct WebSocketUpgradeRefused: Error, CustomStringConvertible {
    var description: String { "the server refused the WebSocket upgrade" }
}
