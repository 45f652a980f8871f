import Foundation
import HeraldCommandLine

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A few JSON calls to Herald's HTTP API for the command line.
struct HTTPClient {
    var baseURL: String
    var bearer: String?

    /// Sends a request and returns the decoded JSON object, or throws the API's error message.
    func call(
        _ method: String,
        _ path: String,
        body: [String: Any]? = nil,
        headers: [String: String] = [:]
    ) async throws -> Any {
        guard let url = URL(string: self.baseURL + path) else { throw CLIError("bad URL \(self.baseURL + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CLIError("cannot reach the Herald API at \(self.baseURL): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let json = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) ?? [:]
        guard (200..<300).contains(status) else {
            if let error = (json as? [String: Any])?["error"] as? [String: Any],
                let code = error["code"] as? String, let message = error["message"] as? String
            {
                throw CLIError("HTTP \(status) \(code): \(message)")
            }
            throw CLIError("HTTP \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return json
    }

    /// Pretty JSON for printing.
    static func render(_ json: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        else { return "\(json)" }
        return String(decoding: data, as: UTF8.self)
    }
}
