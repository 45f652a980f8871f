import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small client for Herald's HTTP API, over URLSession.
///
/// The typed calls (in `APIClient+Endpoints.swift`) throw ``APIClientError`` on any status
/// other than the expected one; ``request(_:_:bearer:headers:body:)`` returns whatever came
/// back, for tests of error answers.
public struct APIClient: Sendable {
    /// One session for every client: URLSession pools connections, and tests make many clients.
    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 15
        configuration.timeoutIntervalForResource = 30
        return URLSession(configuration: configuration)
    }()

    /// For example `http://127.0.0.1:43123`.
    public var baseURL: URL
    /// Sent as `Authorization: Bearer` on admin calls.
    public var adminKey: String

    public init(baseURL: URL, adminKey: String) {
        self.baseURL = baseURL
        self.adminKey = adminKey
    }

    /// A client for `server`'s current run (ports change on restart: make a new one then).
    public init(_ server: HeraldProcess) {
        self.init(baseURL: server.apiBaseURL, adminKey: server.adminKey)
    }

    /// Sends one request and returns the answer, whatever its status.
    ///
    /// - Parameters:
    ///   - method: `GET`, `POST`, `DELETE`, ...
    ///   - path: the path and query, starting with `/`.
    ///   - bearer: sent as `Authorization: Bearer <bearer>` when given.
    ///   - headers: more headers.
    ///   - body: the raw body; `Content-Type: application/json` is set when there is one
    ///     unless `headers` sets another.
    public func request(
        _ method: String,
        _ path: String,
        bearer: String? = nil,
        headers: [String: String] = [:],
        body: Data? = nil
    ) async throws -> APIResponse {
        guard let url = URL(string: self.baseURL.absoluteString + path) else {
            throw APIClientError("bad path \(path)")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let bearer {
            request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization")
        }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers {
            request.setValue(value, forHTTPHeaderField: name)
        }
        let (data, response) = try await Self.session.data(for: request)
        guard let http = response as? HTTPURLResponse else {
            throw APIClientError("\(method) \(path): not an HTTP response")
        }
        var responseHeaders: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String {
                responseHeaders[name.lowercased()] = value
            }
        }
        return APIResponse(status: http.statusCode, headers: responseHeaders, body: data)
    }

    /// Sends `json` as the body.
    public func request(
        _ method: String,
        _ path: String,
        bearer: String? = nil,
        headers: [String: String] = [:],
        json: JSONValue
    ) async throws -> APIResponse {
        try await self.request(method, path, bearer: bearer, headers: headers, body: json.encoded)
    }

    /// Sends a request and checks its status.
    func call(
        _ method: String,
        _ path: String,
        bearer: String?,
        json: JSONValue? = nil,
        headers: [String: String] = [:],
        expecting expected: Set<Int> = [200]
    ) async throws -> APIResponse {
        let response = try await self.request(method, path, bearer: bearer, headers: headers, body: json?.encoded)
        guard expected.contains(response.status) else {
            throw APIClientError("\(method) \(path) answered \(response.status), expected \(expected.sorted())",
                response: response)
        }
        return response
    }
}
