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
    ///
    /// `whileWaiting` runs first when another transaction has the turn (it must not touch the
    /// entity's tables other than staging), so its statements overlap the other's.
    func takeApplyTurn(
        _ connection: PostgresConnection,
        whileWaiting: () async throws -> Void = {}
    ) async throws -> ApplyTurn {
        var lock = PostgresBindings()
        lock.append(applyLock)
        let free = try await connection.rows("SELECT pg_try_advisory_xact_lock($1)", lock, logger: logger).first?
            .decode(Bool.self) ?? false
        if !free {
            try await whileWaiting()
            try await connection.execute("SELECT pg_advisory_xact_lock($1)", lock, logger: logger)
        }
        var name = PostgresBindings()
        name.append(entity.name.normalized)
        guard
            let row = try await connection.rows(
                "UPDATE firn_epochs SET epoch = epoch + 1 WHERE entity = $1 RETURNING epoch, manual <> consumed, "
                    + "(SELECT COALESCE(max(version), 0) FROM firn_schema_history WHERE entity = $1)",
                name,
                logger: logger
            ).first
        else {
            throw WarehouseError.schemaMismatch(table: "firn_epochs", reason: "no row for \(entity.name.normalized)")
        }
        let (epoch, pending, shapeVersion) = try row.decode((Int64, Bool, Int64).self)
        var (states, count) = keyStates.checkOut()
        // Another worker may have added attributes: this turn applies with them, and what is
        // remembered of open versions lacks them.
        if Int(shapeVersion) != shape.withLock({ $0.version }) {
            try await reloadShape(connection)
            states.removeAll()
        }
        if count != epoch - 1 {
            if let count, count < epoch - 1, !states.isEmpty,
                let changed = try await keysChanged(connection, after: count, before: epoch)
            {
                states.forget(changed)
            } else {
                states.removeAll()
            }
        }
        if states.isEmpty, !states.isComplete, states.capacity > 0 {
            // No key has a state: no version (closed, open, or open before manual DML that the
            // stream has not taken in yet: SCD1 alone may be empty then) and nothing kept.
            let empty = try await connection.rows(
                "SELECT NOT EXISTS (SELECT 1 FROM \(schema.current)) AND NOT EXISTS (SELECT 1 FROM \(schema.closed)) "
                    + "AND NOT EXISTS (SELECT 1 FROM \(schema.beforeDML)) AND NOT EXISTS (SELECT 1 FROM \(schema.unchanged))",
                logger: logger
            ).first?.decode(Bool.self) ?? false
            if empty { states.beginComplete() }
        }
        return ApplyTurn(epoch: epoch, streamPending: pending, states: states)
    }

    /// Chunks' counts in `firn_epoch_keys` older than this many are removed.
    static let epochKeysKept: Int64 = 256

    /// The keys changed by the transactions counted after `count` and before `epoch`, or `nil`
    /// when one of them left no keys (it was not a chunk, or is too old).
    func keysChanged(_ connection: PostgresConnection, after count: Int64, before epoch: Int64) async throws -> [Key]? {
        guard epoch - count - 1 <= Self.epochKeysKept else { return nil }
        var binds = PostgresBindings()
        binds.append(entity.name.normalized)
        binds.append(count)
        binds.append(epoch)
        let rows = try await connection.rows(
            "SELECT keys FROM firn_epoch_keys WHERE entity = $1 AND epoch > $2 AND epoch < $3",
            binds,
            logger: logger
        )
        guard rows.count == Int(epoch - count - 1) else { return nil }
        var keys: [Key] = []
        let width = entity.keyColumns.count
        for row in rows {
            var bytes = try row.decode(ByteBuffer.self)
            guard let decoded = KeyList.decode(&bytes, width: width) else { return nil }
            keys += decoded
        }
        return keys
    }

    /// Records the keys this chunk's transaction changed under its count, for other workers'
    /// key states (``keysChanged(_:after:before:)``), and drops counts too old to be asked for.
    /// `keys` is ``KeyList`` bytes.
    func recordKeysChanged(_ connection: PostgresConnection, epoch: Int64, keys: ByteBuffer) async throws {
        var binds = PostgresBindings()
        binds.append(entity.name.normalized)
        binds.append(epoch)
        binds.append(keys)
        binds.append(epoch - Self.epochKeysKept)
        try await connection.execute(
            """
            WITH gone AS (DELETE FROM firn_epoch_keys WHERE entity = $1 AND epoch <= $4)
            INSERT INTO firn_epoch_keys (entity, epoch, keys) VALUES ($1, $2, $3)
            """,
            binds,
            logger: logger
        )
    }
}

/// Keys as bytes, for `firn_epoch_keys`: per value a tag (0 NULL, 1 integer, 2 text), then
/// eight bytes of integer or four bytes of length and the text's UTF-8.
enum KeyList {
    static func encode(_ keys: [Key]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: keys.count * 9)
        for key in keys { write(key, into: &buffer) }
        return buffer
    }

    /// The distinct keys of `records`, taken in `order` (positions in key order, as
    /// ``BatchPlan/keyOrder(_:)`` gives them): each key once.
    static func encode(keysOf records: [ChangeRecord], order: [Int]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: order.count * 9)
        var previous: Key?
        for position in order {
            let key = records[position].key
            guard key != previous else { continue }
            write(key, into: &buffer)
            previous = key
        }
        return buffer
    }

    private static func write(_ key: Key, into buffer: inout ByteBuffer) {
        if let integer = key.integer {
            buffer.writeInteger(UInt8(1))
            buffer.writeInteger(integer)
            return
        }
        for value in key.values {
            switch value {
            case .null:
                buffer.writeInteger(UInt8(0))
            case .integer(let number):
                buffer.writeInteger(UInt8(1))
                buffer.writeInteger(number)
            case .text(let text):
                buffer.writeInteger(UInt8(2))
                buffer.writeInteger(UInt32(text.utf8.count))
                buffer.writeString(text)
            }
        }
    }

    /// The keys of `width` values each, or `nil` when the bytes are not such a list.
    static func decode(_ buffer: inout ByteBuffer, width: Int) -> [Key]? {
        var keys: [Key] = []
        while buffer.readableBytes > 0 {
            if width == 1, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == 1 {
                buffer.moveReaderIndex(forwardBy: 1)
                guard let number = buffer.readInteger(as: Int64.self) else { return nil }
                keys.append(Key(number))
                continue
            }
            var values: [Value] = []
            values.reserveCapacity(width)
            for _ in 0..<width {
                switch buffer.readInteger(as: UInt8.self) {
                case 0: values.append(.null)
                case 1:
                    guard let number = buffer.readInteger(as: Int64.self) else { return nil }
                    values.append(.integer(number))
                case 2:
                    guard let length = buffer.readInteger(as: UInt32.self),
                        let text = buffer.readString(length: Int(length))
                    else { return nil }
                    values.append(.text(text))
                default: return nil
                }
            }
            keys.append(Key(values))
        }
        return keys
    }
}
