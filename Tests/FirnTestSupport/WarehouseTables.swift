import FirnCore
import FirnWarehouse

extension Warehouse {
    /// Load history as `firn copy-history` prints it, newest first.
    public func loadHistoryTable(limit: Int = 100) async throws -> QueryResult {
        QueryResult(loads: try await loadHistory(.first(limit)).items)
    }

    /// Rejected rows as `firn rejects` prints them: the newest `limit`, by load and row.
    public func rejectsTable(limit: Int = 1000) async throws -> QueryResult {
        let rows = try await rejects(load: nil, .first(limit)).items
        return QueryResult(rejects: rows.sorted { ($0.loadID, $0.sourceRow, $0.id) < ($1.loadID, $1.sourceRow, $1.id) })
    }
}

extension Warehouse {
    /// The results of several queries, in order.
    public func results(_ queries: [String]) async throws -> [QueryResult] {
        var results: [QueryResult] = []
        for sql in queries { results.append(try await query(sql).result) }
        return results
    }
}

extension Warehouse {
    /// Task runs as `firn task history` prints them, newest first.
    public func taskHistoryTable(task: String? = nil, limit: Int = 100) async throws -> QueryResult {
        QueryResult(taskRuns: try await taskRuns(task: task, .first(limit)).items)
    }
}
