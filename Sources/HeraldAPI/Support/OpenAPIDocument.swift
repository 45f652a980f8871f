import Foundation
import NIOCore

/// The bundled `openapi.yaml`. Full Foundation here only: `Bundle` is not in FoundationEssentials.
enum OpenAPIDocument {
    static func load() -> ByteBuffer? {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let data = try? Data(contentsOf: url)
        else { return nil }
        return ByteBuffer(bytes: data)
    }
}
