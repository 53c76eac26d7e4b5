import FirnCore

/// Which page of a listing to read: at most ``limit`` items after ``after``.
///
/// Listings are read in a fixed order (each read says which); a cursor is the position of the
/// last item of the page before, so pages stay consistent while rows are added (keyset
/// pagination: no offset is skipped or repeated).
public struct PageRequest: Sendable, Hashable {
    /// At most this many items (at least 1).
    public var limit: Int
    /// The position after which the page starts (``Page/next`` of the page before); `nil`
    /// for the first page.
    public var after: PageCursor?

    /// Creates a request.
    public init(limit: Int, after: PageCursor? = nil) {
        self.limit = max(1, limit)
        self.after = after
    }

    /// The first `limit` items.
    public static func first(_ limit: Int) -> PageRequest { PageRequest(limit: limit) }

    /// For a listing in arrival order (load, then row): the position the page starts after;
    /// `(0, 0)`, before every arrival, for the first page or a cursor of another listing.
    public var arrivalAfter: (load: Int64, row: Int64) {
        guard let position = after?.position, position.count == 2, case .integer(let load) = position[0],
            case .integer(let row) = position[1]
        else { return (0, 0) }
        return (load, row)
    }
}

/// A position in a listing: the sort values of an item, opaque to callers.
public struct PageCursor: Sendable, Hashable {
    /// The item's sort values, in the listing's order.
    public var position: [Value]

    /// Creates a cursor.
    public init(_ position: [Value]) {
        self.position = position
    }
}

/// One page of a listing.
public struct Page<Item: Sendable & Hashable>: Sendable, Hashable {
    /// The items, in the listing's order.
    public var items: [Item]
    /// Where the next page starts, or `nil` when this page is the last.
    public var next: PageCursor?

    /// Creates a page.
    public init(items: [Item], next: PageCursor?) {
        self.items = items
        self.next = next
    }

    /// A page of `items` read with a limit one more than `request`'s (a backend's way to know
    /// whether another page follows): keeps `request.limit` of them and sets ``next`` from the
    /// last kept one when there were more.
    public init(reading items: [Item], for request: PageRequest, position: (Item) -> [Value]) {
        if items.count > request.limit {
            let kept = Array(items.prefix(request.limit))
            self.init(items: kept, next: PageCursor(position(kept[kept.count - 1])))
        } else {
            self.init(items: items, next: nil)
        }
    }
}
