import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation
import GRDB
import Testing

/// The `firn` VFS gathers write-ahead-log writes in memory. Its oracle is SQLite's own `unix`
/// VFS: whatever is written through it must read back identically through `unix`, readers on
/// other connections must never see a commit before its frames are in the file, and a
/// write-ahead log it leaves behind must recover.
@Suite struct WALWriteCoalescingTests {
    /// A writer commits transactions of many pages (each a group of rows that must appear whole)
    /// while readers on other connections check every snapshot; then the file, reopened through
    /// `unix`, passes `integrity_check` and holds exactly what was written. Once with `fsync` per
    /// commit and once without (where the log is never synced at commit, so only the barrier
    /// write-out keeps readers right).
    @Test(arguments: ["FULL", "NORMAL"])
    func readersSeeWholeCommitsAndUnixReadsTheSameFile(synchronous: String) throws {
        #expect(WALWriteCoalescing.isAvailable)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("wal #1?.sqlite").path
        let pool = try Self.coalescedPool(at: path, writerPragma: "synchronous = \(synchronous)")
        try pool.write { db in
            try db.execute(
                sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, payload TEXT NOT NULL)"
            )
        }
        let batches = 40
        let rowsPerBatch = 500
        // A reader thread checks snapshot after snapshot while the writer commits: each must
        // hold whole batches only (count a multiple of the batch size, each batch complete).
        let reader = ReaderThread {
            let (count, batchesSeen, fullBatches) = try Self.snapshot(pool, rowsPerBatch: rowsPerBatch)
            return count == batchesSeen * rowsPerBatch && fullBatches == batchesSeen
        }
        reader.start()
        var rowsWritten = 0
        for batch in 0..<batches {
            try pool.write { db in
                for row in 0..<rowsPerBatch {
                    // Random ids spread each batch over many pages; payloads make pages full.
                    let id = Int64.random(in: 1...Int64.max / 2)
                    let payload = String(repeating: "é\(batch)-\(row)", count: 20)
                    try db.execute(
                        sql: "INSERT INTO t (id, batch, payload) VALUES (?, ?, ?)",
                        arguments: [id, batch, payload]
                    )
                }
            }
            rowsWritten += rowsPerBatch
        }
        let (snapshots, broken, error) = reader.stop()
        #expect(error == nil)
        #expect(snapshots > 0)
        #expect(broken == 0, "\(broken) of \(snapshots) snapshots saw part of a commit")
        let written = try pool.read { db in try Self.contents(db) }
        try pool.close()
        #expect(written.count == rowsWritten)

        // The same file through SQLite's default VFS.
        let reread = try DatabaseQueue(path: path).read { db in try Self.contents(db) }
        #expect(reread.integrity == "ok")
        #expect(reread == written)
    }

    /// Rows, batches, and batches with all their rows, in one read (synchronous, so that
    /// cancelling the reading task does not interrupt it).
    static func snapshot(_ pool: DatabasePool, rowsPerBatch: Int) throws -> (Int, Int, Int) {
        try pool.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM t") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(DISTINCT batch) FROM t") ?? -1,
                try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM (SELECT batch FROM t GROUP BY batch HAVING count(*) = ?)",
                    arguments: [rowsPerBatch]
                ) ?? -1
            )
        }
    }

    /// What a table `t` holds, for comparing two reads of one file.
    struct Contents: Equatable {
        var integrity: String?
        var count: Int
        var rows: String?
    }

    static func contents(_ db: Database) throws -> Contents {
        Contents(
            integrity: try String.fetchOne(db, sql: "PRAGMA integrity_check"),
            count: try Int.fetchOne(db, sql: "SELECT count(*) FROM t") ?? -1,
            rows: try String.fetchOne(
                db,
                sql: "SELECT group_concat(id || ':' || batch || ':' || payload, '|') FROM (SELECT * FROM t ORDER BY id)"
            )
        )
    }

    /// A log left behind as a crash leaves it (the database and its log copied while the writer
    /// still has them open, never checkpointed) recovers: `unix` reads every committed row.
    /// (`firn load` killed with SIGKILL mid-load is tested in FirnCLITests.)
    @Test func logLeftByAStoppedWriterRecovers() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("left.sqlite").path
        // Keep the log: no checkpoint while writing, and the connection is never closed.
        var pool: DatabasePool? = try Self.coalescedPool(at: path, writerPragma: "wal_autocheckpoint = 0")
        try pool!.write { db in
            try db.execute(
                sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, payload TEXT NOT NULL)"
            )
            for id in 0..<5_000 {
                try db.execute(
                    sql: "INSERT INTO t (id, batch, payload) VALUES (?, 0, ?)",
                    arguments: [id, String(repeating: "x", count: 300)]
                )
            }
        }
        let walSize = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(walSize > 1_000_000)
        // Copy the database and its log as they are now, as a crash would leave them.
        for suffix in ["", "-wal"] {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: path + ".copy" + suffix)
        }
        pool = nil
        let recovered = try DatabaseQueue(path: path + ".copy").read { db in try Self.contents(db) }
        #expect(recovered.integrity == "ok")
        #expect(recovered.count == 5_000)
    }

    /// A pool on `path` through the `firn` VFS whose writing connections run `PRAGMA writerPragma`.
    static func coalescedPool(at path: String, writerPragma: String) throws -> DatabasePool {
        var configuration = Configuration()
        // As the warehouse does: a reader connection opening while the writer begins can hold
        // a WAL lock for a moment (SQLite's WAL-index recovery), which without a timeout fails
        // the writer's `BEGIN IMMEDIATE` with "database is locked" (seen once under CI's load).
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA \(writerPragma)") }
        }
        return try DatabasePool(path: WALWriteCoalescing.uri(forPath: path), configuration: configuration)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("firn-vfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A thread that runs a check again and again until stopped, counting the checks that fail.
private final class ReaderThread: @unchecked Sendable {
    private let lock = NSLock()
    private var stopping = false
    private var checks = 0
    private var failures = 0
    private var error: (any Error)?
    private let done = DispatchSemaphore(value: 0)
    private let check: () throws -> Bool

    init(_ check: @escaping () throws -> Bool) {
        self.check = check
    }

    func start() {
        Thread.detachNewThread { [self] in
            while !lock.withLock({ stopping }) {
                do {
                    let passed = try check()
                    lock.withLock {
                        checks += 1
                        if !passed { failures += 1 }
                    }
                } catch {
                    lock.withLock { self.error = error }
                    break
                }
            }
            done.signal()
        }
    }

    /// Stops the thread; returns how many checks ran and failed, and any error.
    func stop() -> (checks: Int, failures: Int, error: (any Error)?) {
        lock.withLock { stopping = true }
        done.wait()
        return lock.withLock { (checks, failures, error) }
    }
}
