import FirnWarehouse

/// Settings of the embedded SQLite warehouse.
public struct SQLiteConfiguration: Sendable, Hashable {
    /// SQLite page cache per connection, in MiB. Defaults to `256`, enough to keep a
    /// few hundred thousand entities' tables and indexes in memory.
    public var cacheSizeMiB: Int = 256
    /// How long a writer waits for another process's write transaction before failing, in
    /// seconds. Defaults to `60`.
    public var busyTimeoutSeconds: Double = 60
    /// Whether each commit is flushed to stable storage before it returns (`synchronous=FULL`
    /// in WAL mode), so that a committed batch survives power loss. Defaults to `true`;
    /// turning it off keeps crash safety against process kills but not against power loss.
    public var isDurable: Bool = true

    /// The page size of a new database file, in bytes (a power of two from 512 to 65536).
    /// Defaults to `8192`: a batch of thousands of random keys then dirties fewer pages and
    /// makes fewer B-tree splits (`firn bench load`: B=10k 82k rows/s against 75k with 4096,
    /// B=100k 148k against 105-112k; B=1k 41-44k against 46-48k). Applies only when the file
    /// is created.
    public var pageSize: Int = 8192
    /// Whether a background thread copies committed pages from the write-ahead log into the
    /// database after each commit, off the writer's path. Defaults to `true`.
    public var checkpointsInBackground: Bool = true
    /// Pages the write-ahead log may hold before a commit on the writer copies them back into
    /// the database itself (`wal_autocheckpoint`). Defaults to `1000`, or 512 MiB of pages
    /// (65,536 at 8 KiB) when ``checkpointsInBackground`` is on.
    ///
    /// With background checkpoints this is how often the log starts again from its beginning.
    /// While commits come back to back, the background checkpoint never catches up with the
    /// last one, so the log only restarts when the writer copies that remainder itself and
    /// syncs the database: 60-100 ms on a batch of 10,000 rows, once per threshold. At 512 MiB
    /// that is every ninth such batch instead of every fourth at 200 MiB (`firn bench load
    /// --batch-sizes 10000`: 85-91k rows/s against 83-85k). A log past 1 GiB made every
    /// commit about twice as slow here, so the default stays well below.
    public var checkpointPages: Int?

    /// The `wal_autocheckpoint` in effect: ``checkpointPages``, or its default.
    var effectiveCheckpointPages: Int {
        checkpointPages ?? (checkpointsInBackground ? (512 << 20) / pageSize : 1000)
    }

    /// Whether writes to the write-ahead log are gathered into large writes (the `firn` VFS,
    /// which otherwise forwards to SQLite's default): a commit then makes a few system calls
    /// instead of two per dirty page. Defaults to `true`.
    public var coalescesLogWrites: Bool = true

    /// How many keys' latest record time and open version the writer remembers between
    /// batches, so that in-order records need no reads. Defaults to `200_000` (about 60 MiB for
    /// the customer entity; past it the memory starts again empty, with a Bloom filter of the
    /// keys it let go of, see `EvictedKeys`); `0` turns it off. With the
    /// page cache (``cacheSizeMiB``) and one chunk of records, this bounds a load's memory,
    /// whatever the file's size.
    public var keyStateCapacity: Int = KeyStateCache.defaultCapacity

    /// Creates the default configuration.
    public init() {}
}
