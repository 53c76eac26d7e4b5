import FirnCore
import FirnWarehouse
import PostgresNIO

// Remembered key states on PostgreSQL. Every transaction that applies records (a chunk, or the
// stream's manual DML) takes the entity's apply lock and then counts itself in `firn_epochs`;
// every other writer of the entity's tables (manual DML, another client's SQL) is counted there
// too, by statement triggers. A worker checks its states in with the count its transaction
// committed at, and gets them back only when the next count is one more: nothing else was
// committed in between, so they still equal the tables. Any other writer in between (another
// worker's chunk included) and they start again empty.
extension PostgresWarehouse {
    /// What a transaction that applies records holds once it has its turn.
    struct ApplyTurn: Sendable {
        /// The entity's count of changes, this transaction's included.
        var epoch: Int64
        /// Whether manual DML was committed since the stream was last consumed.
        var streamPending: Bool
        /// The remembered key states, checked out for this transaction.
        var states: KeyStateCache.States
    }

    /// Takes the apply lock, counts this transaction and checks out the key states (complete
    /// when the entity's tables hold no key yet). Call inside a pipeline transaction; after it
    /// commits, ``keyStates``' `checkIn(_:count:)` with the turn's states and epoch.
    func takeApplyTurn(_ connection: PostgresConnection) async throws -> ApplyTurn {
        var lock = PostgresBindings()
        lock.append(applyLock)
        try await connection.execute("SELECT pg_advisory_xact_lock($1)", lock, logger: logger)
        var name = PostgresBindings()
        name.append(entity.name.normalized)
        guard
            let row = try await connection.rows(
                "UPDATE firn_epochs SET epoch = epoch + 1 WHERE entity = $1 RETURNING epoch, manual <> consumed",
                name,
                logger: logger
            ).first
        else {
            throw WarehouseError.schemaMismatch(table: "firn_epochs", reason: "no row for \(entity.name.normalized)")
        }
        let (epoch, pending) = try row.decode((Int64, Bool).self)
        var states = keyStates.checkOut(previous: epoch - 1)
        if states.isEmpty, !states.isComplete, states.capacity > 0 {
            let empty = try await connection.rows(
                "SELECT NOT EXISTS (SELECT 1 FROM \(schema.current)) AND NOT EXISTS (SELECT 1 FROM \(schema.closed)) "
                    + "AND NOT EXISTS (SELECT 1 FROM \(schema.unchanged))",
                logger: logger
            ).first?.decode(Bool.self) ?? false
            if empty { states.beginComplete() }
        }
        return ApplyTurn(epoch: epoch, streamPending: pending, states: states)
    }
}
