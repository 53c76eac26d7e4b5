import FirnCore
import Foundation
import GRDB

/// One landing file's journey through ingest, as the journal records it.
public struct IngestedFile: Sendable, Hashable {
    /// Where the file is in its journey.
    public enum State: String, Sendable, Hashable {
        /// Seen complete in the landing directory and checksummed; not yet confirmed uploaded.
        case landed
        /// Upload confirmed by the store; the source not yet archived or deleted.
        case uploaded
        /// Uploaded, then moved to the archive folder.
        case archived
        /// Uploaded, then deleted from the landing directory.
        case deleted
        /// The same name and content were uploaded before; not uploaded again, archived.
        case duplicate
        /// Kept failing; moved to the failed folder with the reason.
        case failed
    }

    /// The journal's id for this file.
    public var id: Int64
    /// The file name.
    public var name: String
    /// Where it landed.
    public var landingPath: String
    /// Its size in bytes.
    public var size: Int64
    /// Its SHA-256, hex.
    public var sha256: String
    /// The object key it is (or will be) stored under.
    public var objectKey: String
    /// The store's ETag once uploaded.
    public var etag: String?
    /// The state.
    public var state: State
    /// Upload attempts that failed.
    public var attempts: Int
    /// The last error.
    public var error: String?
    /// When ingest took the file (UTC).
    public var landedAt: String
    /// When the store confirmed the upload (UTC).
    public var uploadedAt: String?
    /// When the file was archived, deleted or moved to the failed folder (UTC).
    public var finishedAt: String?
    /// Where the file went after the upload (archive or failed folder).
    public var finalPath: String?
}

/// Ingest's own durable state: one SQLite file (`<data-dir>/ingest.sqlite`) recording every
/// landing file's journey, so a restart neither uploads a file twice nor skips one.
///
/// Ingest keeps its state apart from the warehouse on purpose: like NiFi, it can run on the
/// host where files land, with no access to the warehouse. `firn provenance` joins this
/// journal with the warehouse's load history by object key.
public final class IngestJournal: Sendable {
    /// The journal file.
    public let path: String
    let queue: DatabaseQueue

    /// Opens (creating when missing) the journal.
    ///
    /// - Throws: ``IngestError/journal(path:reason:)``.
    public init(path: String) throws(IngestError) {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.write { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS ingest_files(
                            id INTEGER PRIMARY KEY,
                            name TEXT NOT NULL,
                            landing_path TEXT NOT NULL,
                            size INTEGER NOT NULL,
                            sha256 TEXT NOT NULL,
                            object_key TEXT NOT NULL,
                            etag TEXT,
                            state TEXT NOT NULL,
                            attempts INTEGER NOT NULL DEFAULT 0,
                            error TEXT,
                            landed_at TEXT NOT NULL,
                            uploaded_at TEXT,
                            finished_at TEXT,
                            final_path TEXT);
                        CREATE INDEX IF NOT EXISTS ingest_files_key ON ingest_files(object_key);
                        CREATE INDEX IF NOT EXISTS ingest_files_name ON ingest_files(name, sha256);
                        CREATE INDEX IF NOT EXISTS ingest_files_open ON ingest_files(state)
                            WHERE state IN ('landed', 'uploaded');
                        """
                )
            }
        } catch {
            throw .journal(path: path, reason: Self.reason(error))
        }
    }

    /// What ``admit(name:landingPath:size:sha256:key:)`` decided.
    public enum Admission: Sendable, Hashable {
        /// A new file: upload it under the entry's key.
        case upload(IngestedFile)
        /// The same name and content were uploaded before (entry in state ``IngestedFile/State/duplicate``).
        case duplicate(IngestedFile, earlier: IngestedFile)
    }

    /// Records a complete landing file before its upload starts.
    ///
    /// When another file's content already holds `key`, the key gets the new entry's id before
    /// its extension (`a.csv` → `a.17.csv`), so a re-used file name never overwrites an object
    /// the pipe may not have loaded yet.
    public func admit(
        name: String,
        landingPath: String,
        size: Int64,
        sha256: String,
        key: String
    ) throws(IngestError) -> Admission {
        try write { db in
            let now = Timestamp.now().description
            if let earlier = try Self.fetchOne(
                db,
                "WHERE name = ? AND sha256 = ? AND state IN ('uploaded', 'archived', 'deleted') ORDER BY id LIMIT 1",
                [name, sha256]
            ) {
                try db.execute(
                    sql: """
                        INSERT INTO ingest_files(name, landing_path, size, sha256, object_key, etag, state, landed_at)
                        VALUES (?, ?, ?, ?, ?, ?, 'duplicate', ?)
                        """,
                    arguments: [name, landingPath, size, sha256, earlier.objectKey, earlier.etag, now]
                )
                let entry = try Self.fetchOne(db, "WHERE id = ?", [db.lastInsertedRowID])!
                return .duplicate(entry, earlier: earlier)
            }
            try db.execute(
                sql: """
                    INSERT INTO ingest_files(name, landing_path, size, sha256, object_key, state, landed_at)
                    VALUES (?, ?, ?, ?, ?, 'landed', ?)
                    """,
                arguments: [name, landingPath, size, sha256, key, now]
            )
            let id = db.lastInsertedRowID
            let taken = try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS(SELECT 1 FROM ingest_files WHERE object_key = ? AND sha256 <> ? AND id <> ?)",
                arguments: [key, sha256, id]
            )!
            if taken {
                try db.execute(
                    sql: "UPDATE ingest_files SET object_key = ? WHERE id = ?",
                    arguments: [Self.disambiguated(key, id: id), id]
                )
            }
            return .upload(try Self.fetchOne(db, "WHERE id = ?", [id])!)
        }
    }

    /// `a/b.csv` → `a/b.<id>.csv`; the last segment cut to stay within 255 bytes (a directory
    /// bucket stores it as a file name).
    static func disambiguated(_ key: String, id: Int64) -> String {
        let slash = key.lastIndex(of: "/").map { key.index(after: $0) } ?? key.startIndex
        return String(key[..<slash]) + LandingName.fitted(String(key[slash...]), suffix: ".\(id)")
    }

    /// Records a failed attempt and its error.
    public func recordAttempt(_ id: Int64, error: String) throws(IngestError) {
        try write { db in
            try db.execute(
                sql: "UPDATE ingest_files SET attempts = attempts + 1, error = ? WHERE id = ?",
                arguments: [error, id]
            )
        }
    }

    /// Records a confirmed upload.
    public func recordUpload(_ id: Int64, etag: String) throws(IngestError) {
        try write { db in
            try db.execute(
                sql: "UPDATE ingest_files SET state = 'uploaded', etag = ?, uploaded_at = ? WHERE id = ?",
                arguments: [etag, Timestamp.now().description, id]
            )
        }
    }

    /// Records the end of a file's journey: archived, deleted, duplicate (archived) or failed.
    public func recordFinish(
        _ id: Int64,
        state: IngestedFile.State,
        finalPath: String?,
        error: String? = nil
    )
        throws(IngestError)
    {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE ingest_files SET state = ?, finished_at = ?, final_path = ?, error = COALESCE(?, error)
                    WHERE id = ?
                    """,
                arguments: [state.rawValue, Timestamp.now().description, finalPath, error, id]
            )
        }
    }

    /// Files whose journey was interrupted (landed or uploaded but not finished), oldest first.
    public func unfinished() throws(IngestError) -> [IngestedFile] {
        try read { db in try Self.fetchAll(db, "WHERE state IN ('landed', 'uploaded') ORDER BY id") }
    }

    /// Entries whose name, object key or landing path equals `text` (or whose key ends with
    /// `/text`), oldest first.
    public func find(_ text: String) throws(IngestError) -> [IngestedFile] {
        try read { db in
            try Self.fetchAll(
                db,
                "WHERE name = ? OR object_key = ? OR landing_path = ? OR final_path = ? OR object_key LIKE ? ESCAPE '\\' ORDER BY id",
                [text, text, text, text, "%/" + Self.escapeLike(text)]
            )
        }
    }

    /// The most recent entries, newest first.
    public func recent(limit: Int = 50) throws(IngestError) -> [IngestedFile] {
        try read { db in try Self.fetchAll(db, "ORDER BY id DESC LIMIT ?", [limit]) }
    }

    /// Counts of entries per state.
    public func counts() throws(IngestError) -> [IngestedFile.State: Int] {
        try read { db in
            var counts: [IngestedFile.State: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*) FROM ingest_files GROUP BY state") {
                if let state = IngestedFile.State(rawValue: row[0]) { counts[state] = row[1] }
            }
            return counts
        }
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }

    static let columns =
        "id, name, landing_path, size, sha256, object_key, etag, state, attempts, error, landed_at, uploaded_at, finished_at, final_path"

    static func fetchAll(
        _ db: Database,
        _ clause: String,
        _ arguments: StatementArguments = []
    ) throws
        -> [IngestedFile]
    {
        try Row.fetchAll(db, sql: "SELECT \(columns) FROM ingest_files \(clause)", arguments: arguments).map(entry)
    }

    static func fetchOne(
        _ db: Database,
        _ clause: String,
        _ arguments: StatementArguments = []
    ) throws
        -> IngestedFile?
    {
        try fetchAll(db, clause, arguments).first
    }

    static func entry(_ row: Row) -> IngestedFile {
        IngestedFile(
            id: row[0],
            name: row[1],
            landingPath: row[2],
            size: row[3],
            sha256: row[4],
            objectKey: row[5],
            etag: row[6],
            state: IngestedFile.State(rawValue: row[7]) ?? .failed,
            attempts: row[8],
            error: row[9],
            landedAt: row[10],
            uploadedAt: row[11],
            finishedAt: row[12],
            finalPath: row[13]
        )
    }

    func write<T>(_ body: (Database) throws -> T) throws(IngestError) -> T {
        do { return try queue.write(body) } catch { throw .journal(path: path, reason: Self.reason(error)) }
    }

    func read<T>(_ body: (Database) throws -> T) throws(IngestError) -> T {
        do { return try queue.read(body) } catch { throw .journal(path: path, reason: Self.reason(error)) }
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? error.description }
        return "\(error)"
    }
}
