import Foundation
import Hummingbird

/// JSON answers: bodies encoded with sorted keys, errors as `{"error": …}`.
enum JSONResponse {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func data(_ value: some Encodable) -> Data {
        (try? encoder().encode(value)) ?? Data(#"{"error":"the answer could not be encoded"}"#.utf8)
    }

    static func ok(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data(value)))
        )
    }

    static func error(_ error: APIError) -> Response {
        ok(API.ErrorBody(error: error.message), status: error.status)
    }

    /// Runs a handler and answers with its value, or its error as JSON.
    static func answer<T: Encodable>(_ body: () async throws(APIError) -> T) async -> Response {
        do { return ok(try await body()) } catch { return self.error(error) }
    }
}
