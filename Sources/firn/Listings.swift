import ArgumentParser
import FirnConfig
import FirnCore
import FirnWarehouse

/// `firn history KEY`: every version of one key.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show every version of one key, oldest first.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Output format: table, csv or json.")
    var format: OutputFormat = .table

    @Argument(help: "The key; for a composite key, the values separated by |.")
    var key: String

    func run() async throws {
        let (warehouse, settings) = try await options.openWarehouse(creating: false)
        let parsed: Key
        do { parsed = try settings.entity.key(parsing: key) } catch { throw ValidationError(error.description) }
        let versions = try await warehouse.history(of: parsed)
        print(QueryResult(history: versions, of: warehouse.entity).formatted(as: format), terminator: "")
    }
}

/// `firn as-of TIME`: the SCD1 table as it stood at a time.
struct AsOf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "as-of",
        abstract: "Show the SCD1 table as it stood at TIME (rebuilt from history)."
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "Output format: table, csv or json.")
    var format: OutputFormat = .table

    @Argument(help: "An ISO-8601 time, e.g. 2026-11-24T10:15:30Z (no offset means UTC).")
    var time: String

    func run() async throws {
        guard let instant = Timestamp(parsing: time) else {
            throw ValidationError("\(time) is not a timestamp; write e.g. 2026-11-24T10:15:30Z")
        }
        let (warehouse, _) = try await options.openWarehouse(creating: false)
        let versions = try await warehouse.asOf(instant)
        print(QueryResult(current: versions, of: warehouse.entity).formatted(as: format), terminator: "")
    }
}

/// `firn stream show|consume`: the change stream on the SCD1 table.
struct Stream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The stream on the SCD1 table: changes not yet in history.",
        subcommands: [Show.self, Consume.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print pending change rows with METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID."
        )

        @OptionGroup var options: GlobalOptions

        @Option(help: "Output format: table, csv or json.")
        var format: OutputFormat = .table

        func run() async throws {
            let (warehouse, _) = try await options.openWarehouse(creating: false)
            let snapshot = try await warehouse.pendingStream()
            if format == .table {
                print("stream \(snapshot.name): offset \(snapshot.offset), change log at \(snapshot.latest)")
            }
            print(QueryResult(stream: snapshot.changes, of: warehouse.entity).formatted(as: format), terminator: "")
        }
    }

    struct Consume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply pending changes to history now and advance the offset."
        )

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let (warehouse, _) = try await options.openWarehouse(creating: false)
            let result = try await warehouse.consumeStream()
            print(
                "consumed \(result.changesConsumed) change(s); versions opened \(result.counts.versionsOpened), "
                    + "closed \(result.counts.versionsClosed); offset \(result.offset)"
            )
        }
    }
}

/// `firn copy-history`: load history, newest first.
struct CopyHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy-history",
        abstract: "Show load history (each file's status, rows loaded and rejected, errors), newest first."
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "Output format: table, csv or json.")
    var format: OutputFormat = .table

    @Option(help: "At most this many loads.")
    var limit = 100

    func validate() throws { try NumericBounds.listingLimit.check(limit, "--limit") }

    func run() async throws {
        let (warehouse, _) = try await options.openWarehouse(creating: false)
        let page = try await warehouse.loadHistory(.first(limit))
        print(QueryResult(loads: page.items).formatted(as: format), terminator: "")
    }
}

/// `firn rejects`: rejected rows with reasons.
struct Rejects: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show rejected rows: file, row number, reason and raw text."
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "Output format: table, csv or json.")
    var format: OutputFormat = .table

    @Option(help: "At most this many rows (the newest).")
    var limit = 1000

    func validate() throws { try NumericBounds.listingLimit.check(limit, "--limit") }

    func run() async throws {
        let (warehouse, _) = try await options.openWarehouse(creating: false)
        // The newest rows, shown by load and row.
        let page = try await warehouse.rejects(load: nil, .first(limit))
        let rows = page.items.sorted { ($0.loadID, $0.sourceRow, $0.id) < ($1.loadID, $1.sourceRow, $1.id) }
        print(QueryResult(rejects: rows).formatted(as: format), terminator: "")
    }
}
