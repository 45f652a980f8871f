import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The controller's few JSON calls to the API outside the measured load: creating the bench
/// app, asking where the gateway is, reading the node's stats.
struct ControlHTTP: Sendable {
    /// The API, for example `http://127.0.0.1:8080`.
    var baseURL: String

    /// An answer: status and decoded JSON (nil if the body was not JSON).
    struct Answer {
        var status: Int
        var json: Any?
        var text: String

        var object: [String: Any]? { self.json as? [String: Any] }
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.timeoutIntervalForResource = 60
        return URLSession(configuration: configuration)
    }()

    /// Sends one request; `body` is a JSONSerialization value.
    func call(_ method: String, _ path: String, bearer: String?, body: [String: any Sendable]? = nil) async throws
        -> Answer
    {
        guard let url = URL(string: self.baseURL + path) else { throw BenchError("bad URL \(self.baseURL + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await Self.session.data(for: request)
        } catch {
            throw BenchError("cannot reach the Herald API at \(self.baseURL): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return Answer(
            status: status,
            json: try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            text: String(decoding: data, as: UTF8.self)
        )
    }

    /// Like ``call(_:_:bearer:body:)``, throwing the API's error message unless the status is 2xx.
    func expectOK(_ method: String, _ path: String, bearer: String?, body: [String: any Sendable]? = nil)
        async throws -> [String: Any]
    {
        let answer = try await self.call(method, path, bearer: bearer, body: body)
        guard (200..<300).contains(answer.status) else {
            if let error = answer.object?["error"] as? [String: Any], let code = error["code"] as? String,
                let message = error["message"] as? String
            {
                throw BenchError("\(method) \(path): HTTP \(answer.status) \(code): \(message)")
            }
            throw BenchError("\(method) \(path): HTTP \(answer.status): \(answer.text.prefix(200))")
        }
        return answer.object ?? [:]
    }
}
