import FirnCore
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

/// Listing parameters: `limit` (1 to 500, default 50) and `after`, the `next` of the page
/// before: the last item's id in listings by id (loads, rejects, task runs), its key in
/// listings by key (as-of), written as `firn history` takes keys.
struct ListingQuery {
    static let maximumLimit = 500

    /// What a listing's cursor is.
    enum Cursor {
        case id
        case key(EntityConfiguration)
    }

    /// Reads `limit` and `after`.
    static func pageRequest(
        limit: Substring?,
        after: Substring?,
        cursor: Cursor,
        defaultLimit: Int = 50
    ) throws(APIError) -> PageRequest {
        var request = PageRequest.first(defaultLimit)
        if let limit {
            guard let value = Int(limit), (1...maximumLimit).contains(value) else {
                throw .badRequest("limit must be a whole number from 1 to \(maximumLimit), not \(String(limit).debugDescription)")
            }
            request.limit = value
        }
        if let after {
            switch cursor {
            case .id:
                guard let id = Int64(after), id >= 0 else {
                    throw .badRequest("after must be the id that ended the page before (a whole number), not \(String(after).debugDescription)")
                }
                request.after = PageCursor([.integer(id)])
            case .key(let entity):
                do { request.after = PageCursor(try entity.key(parsing: String(after)).values) } catch {
                    throw .badRequest("after must be the key that ended the page before: \(error.description)")
                }
            }
        }
        return request
    }

    /// A page's `next`: the id, or the key as `firn history` takes it.
    static func text(of cursor: PageCursor?) -> String? {
        guard let cursor else { return nil }
        if cursor.position.count == 1, case .integer(let id) = cursor.position[0] { return String(id) }
        return Key(cursor.position).description
    }
}
