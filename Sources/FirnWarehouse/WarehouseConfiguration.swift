/// Settings of the embedded SQLite warehouse.
public struct WarehouseConfiguration: Sendable, Hashable {
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

    /// Creates the default configuration.
    public init() {}
}
