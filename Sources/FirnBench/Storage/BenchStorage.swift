import FirnCore
import FirnWarehouse

/// Where `firn bench load` keeps each engine's tables for one batch size: database files in
/// a directory (SQLite, ``SQLiteBenchStorage``) or schemas on a PostgreSQL server
/// (``PostgresBenchStorage``). Both engines of a run use the same storage, so they are
/// compared on the same engine and settings.
protocol BenchStorage: Sendable {
    /// The engine and its version, for the report (`sqlite 3.46.1`, `PostgreSQL 15.14`).
    func engineDescription() async -> String

    /// A fresh, empty Firn warehouse for batch size `size` (an older one is removed first).
    func openFirn(size: Int) async throws(LoadBenchmarkError) -> BenchWarehouse

    /// A fresh, empty plain-SQL port for batch size `size`.
    func openBaseline(size: Int) async throws(LoadBenchmarkError) -> any PlainSQLPort

    /// Gathers the planner statistics of the engine's tables, after the base load and before
    /// the timed batches: the state a pipeline reaches within minutes of starting, where a
    /// run of a few seconds would otherwise time plans chosen with none, or with statistics
    /// taken at a moment that differs from run to run.
    func analyze(_ engine: BenchEngine, size: Int) async throws(LoadBenchmarkError)

    /// Digests of the engine's two customer tables and the bytes they take, read after the
    /// engine was closed; then its tables are removed unless the run keeps them.
    func finish(_ engine: BenchEngine, size: Int) async throws(LoadBenchmarkError) -> (TableDigests, bytes: Int64)
}

/// The two engines `firn bench load` compares.
enum BenchEngine: String, Sendable {
    case firn
    case sql
}

/// A Firn warehouse opened for the benchmark, and how to close it.
struct BenchWarehouse: Sendable {
    var warehouse: any Warehouse
    var close: @Sendable () async -> Void
}

/// The seed's SCD1/SCD2 logic as plain set-based SQL: one transaction per batch.
protocol PlainSQLPort: Sendable {
    /// Applies one batch in one transaction: stage, SCD1, SCD2.
    ///
    /// - Parameters:
    ///   - batchID: A number unique to the batch (its `batch_id` in staging).
    ///   - records: The batch's records; `arrival.row` is the row number.
    ///   - sourceFile: Written to staging.
    func apply(batchID: Int64, records: [ChangeRecord], sourceFile: String) async throws

    /// Ends its connections.
    func close() async
}
