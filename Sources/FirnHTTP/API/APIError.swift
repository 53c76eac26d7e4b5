import FirnWarehouse
import Foundation
import Hummingbird

/// An answer other than success, with its status and a message a person can act on.
public struct APIError: Error, Sendable, Hashable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// What went wrong and what to do.
    public var message: String

    /// Creates an error.
    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// A bad parameter: 400.
    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// Nothing there: 404.
    static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }

    /// A warehouse error: 400 for a request it refused, 503 when a retry may help (the server
    /// is away), else 500.
    init(_ error: WarehouseError) {
        if case .invalidRequest(let message) = error {
            self.init(.badRequest, message)
        } else {
            self.init(error.mayRetry ? .serviceUnavailable : .internalServerError, error.description)
        }
    }
}

/// Listing parameters: `limit` (1 to 500, default 50) and `after` (the `next` of the page
/// before: an opaque cursor).
struct ListingQuery {
    static let maximumLimit = 500

    /// Reads `limit` and `after`.
    static func pageRequest(limit: Substring?, after: Substring?, defaultLimit: Int = 50) throws(APIError) -> PageRequest {
        var request = PageRequest.first(defaultLimit)
        if let limit {
            guard let value = Int(limit), (1...maximumLimit).contains(value) else {
                throw .badRequest("limit must be a whole number from 1 to \(maximumLimit), not \(String(limit).debugDescription)")
            }
            request.limit = value
        }
        if let after {
            request.after = try cursor(decoding: String(after))
        }
        return request
    }

    /// A cursor as text: its position's values as JSON, in base64url.
    static func text(of cursor: PageCursor?) -> String? {
        guard let cursor else { return nil }
        let fields = cursor.position.map(API.Field.init)
        guard let data = try? JSONEncoder().encode(fields) else { return nil }
        return data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Reads a cursor made by ``text(of:)``.
    static func cursor(decoding text: String) throws(APIError) -> PageCursor {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard text.count <= 4096, let data = Data(base64Encoded: base64),
            let fields = try? JSONDecoder().decode([API.Field].self, from: data), !fields.isEmpty
        else {
            throw .badRequest("after must be the next cursor of a page this API returned")
        }
        return PageCursor(
            fields.map { field in
                switch field {
                case .null: .null
                case .integer(let integer): .integer(integer)
                case .text(let text): .text(text)
                }
            }
        )
    }
}
