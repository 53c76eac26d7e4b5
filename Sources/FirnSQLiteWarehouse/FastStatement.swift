import FirnCore
import FirnWarehouse
import GRDB
import GRDBSQLite

/// A prepared statement driven through SQLite's C API, for the per-row hot path of applying a
/// batch.
///
/// GRDB's `StatementArguments` builds an array of existentials and instantiates key paths and
/// generic metadata per call (about 15% of a batch's time in a profile); binding values
/// directly avoids that. The statement still belongs to GRDB's connection and runs inside
/// GRDB's transaction. Use it only for statements no GRDB API runs at the same time, and reset
/// each after use (``run()`` does; after ``step()`` call ``reset()``). `firn bench` gives its
/// plain-SQL baseline the same binding, so that the comparison measures the SQL, not the glue.
public struct FastStatement {
    let handle: OpaquePointer
    let connection: OpaquePointer

    /// Prepares (or takes from GRDB's statement cache) `sql` on the connection of `db`.
    ///
    /// - Throws: GRDB's `DatabaseError` when the SQL does not compile.
    public init(_ db: Database, sql: String) throws {
        let statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection!
        sqlite3_reset(handle)
    }

    /// SQLite copies bound text at once (`SQLITE_TRANSIENT`), so Swift strings may go away.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds a value to the parameter at `index` (1-based).
    @inline(__always)
    public func bind(_ value: Value, at index: Int32) {
        switch value {
        case .null: sqlite3_bind_null(handle, index)
        case .integer(let number): sqlite3_bind_int64(handle, index, number)
        case .text(let text): bind(text, at: index)
        }
    }

    /// Binds text (SQLite copies it).
    @inline(__always)
    public func bind(_ text: String, at index: Int32) {
        if text.isEmpty {
            // A NULL pointer would bind SQL NULL; the empty string is not NULL.
            _ = sqlite3_bind_text(handle, index, "", 0, Self.transient)
            return
        }
        // Native strings expose their UTF-8 without a copy; others are copied once.
        let bound = text.utf8.withContiguousStorageIfAvailable { bytes in
            sqlite3_bind_text(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
        }
        if bound == nil {
            var copy = text
            copy.withUTF8 { bytes in
                _ = sqlite3_bind_text(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
            }
        }
    }

    /// Binds an integer.
    @inline(__always)
    public func bind(_ number: Int64, at index: Int32) {
        sqlite3_bind_int64(handle, index, number)
    }

    /// Binds a key's values from parameter `start` on; returns the next parameter index.
    @inline(__always)
    @discardableResult
    public func bind(_ key: Key, from start: Int32) -> Int32 {
        if let integer = key.integer {
            sqlite3_bind_int64(handle, start, integer)
            return start + 1
        }
        return bind(key.values, from: start)
    }

    /// Binds a timestamp in its stored text form, formatted on the stack.
    @inline(__always)
    public func bind(_ time: Timestamp, at index: Int32) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Timestamp.textLength) { buffer in
            let count = time.write(into: buffer)
            _ = sqlite3_bind_text(handle, index, buffer.baseAddress, Int32(count), Self.transient)
        }
    }

    /// Binds values from parameter `start` on; returns the next parameter index.
    @inline(__always)
    @discardableResult
    public func bind(_ values: [Value], from start: Int32) -> Int32 {
        values.withUnsafeBufferPointer { buffer in
            for position in buffer.indices { bind(buffer[position], at: start + Int32(position)) }
        }
        return start + Int32(values.count)
    }

    /// Binds exactly `count` values from parameter `start` on, NULL for any `values` lacks
    /// (bindings persist across executions, so a short array must not leave old values behind);
    /// returns the next parameter index.
    @inline(__always)
    @discardableResult
    public func bind(_ values: [Value], from start: Int32, count: Int) -> Int32 {
        values.withUnsafeBufferPointer { buffer in
            for position in 0..<count {
                let index = start + Int32(position)
                if position < buffer.count {
                    bind(buffer[position], at: index)
                } else {
                    sqlite3_bind_null(handle, index)
                }
            }
        }
        return start + Int32(count)
    }

    /// Runs a statement that returns no rows, then resets it.
    public func run() throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw failure(code) }
    }

    /// Steps to the next row: `true` when one is available. Call ``reset()`` when done.
    public func step() throws -> Bool {
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        if code == SQLITE_DONE { return false }
        sqlite3_reset(handle)
        throw failure(code)
    }

    /// Resets the statement after ``step()``, keeping its bindings.
    public func reset() {
        sqlite3_reset(handle)
    }

    /// Rows the last run changed (not counting trigger changes).
    var changes: Int { Int(sqlite3_changes(connection)) }

    func isNull(at column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func int64(at column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func text(at column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// The column as a Firn ``Value`` (reals and blobs, which only manual DML can store, as text).
    func value(at column: Int32) -> Value {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_NULL: .null
        case SQLITE_INTEGER: .integer(sqlite3_column_int64(handle, column))
        default: .text(text(at: column))
        }
    }

    /// A timestamp column in Firn's stored form, parsed without making a string.
    func timestamp(at column: Int32) -> Timestamp? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Timestamp(canonicalUTF8: UnsafeBufferPointer(start: bytes, count: count))
    }

    private func failure(_ code: Int32) -> WarehouseError {
        let message = String(cString: sqlite3_errmsg(connection))
        let sql = sqlite3_sql(handle).map { String(cString: $0) } ?? ""
        return .statementFailed(sql: sql, reason: "SQLite error \(code): \(message)")
    }
}
