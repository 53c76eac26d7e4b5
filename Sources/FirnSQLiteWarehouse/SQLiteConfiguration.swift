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
    /// Defaults to `8192`. SQLite writes every page a commit changes whole into its log, so
    /// once the tables hold far more pages than a batch has keys, smaller pages write fewer
    /// bytes per change (at a million keys and more, 2 KiB pages wrote a third of what 8 KiB
    /// pages did and applied batches faster); but they cost more CPU per row, and the whole
    /// flow, which shares two cores with the generator and ingest, was slower with them (see
    /// the README's Throughput). Applies only when the file is created; an existing warehouse
    /// keeps its page size.
    public var pageSize: Int = 8192
    /// Whether a background thread copies committed pages from the write-ahead log into the
    /// database after each commit, off the writer's path. Defaults to `true`.
    public var checkpointsInBackground: Bool = true
    /// Pages the write-ahead log may hold before a commit on the writer copies them back into
    /// the database itself (`wal_autocheckpoint`). Defaults to `1000`, or 512 MiB of pages of
    /// the file's page size (65,536 at 8 KiB) when ``checkpointsInBackground`` is on.
    ///
    /// With background checkpoints this is how often the log starts again from its beginning.
    /// While commits come back to back, the background checkpoint never catches up with the
    /// last one, so the log only restarts when the writer copies that remainder itself and
    /// syncs the database: 60-100 ms on a batch of 10,000 rows, once per threshold. At 512 MiB
    /// that is every ninth such batch instead of every fourth at 200 MiB (`firn bench load
    /// --batch-sizes 10000`: 85-91k rows/s against 83-85k). A log past 1 GiB made every
    /// commit about twice as slow here, so the default stays well below.
    public var checkpointPages: Int?

    /// The `wal_autocheckpoint` in effect for a file of `filePageSize` bytes a page (which
    /// is ``pageSize`` only for a file made with this configuration): ``checkpointPages``, or
    /// its default.
    func effectiveCheckpointPages(filePageSize: Int) -> Int {
        checkpointPages ?? (checkpointsInBackground ? (512 << 20) / max(512, filePageSize) : 1000)
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
