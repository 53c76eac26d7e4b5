import ArgumentParser
import FirnWarehouse

/// `firn query SQL`: run SQL against the warehouse.
struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run SQL against the warehouse and print the result.",
        discussion: """
            DML on the SCD1 table (UPDATE, DELETE, INSERT on customer) is captured by the stream and \
            applied to history at the statement's time before this command returns, unless \
            --keep-stream is given (then `firn stream show` lists it until the next load). All \
            statements run in one transaction: they commit together, or none does. Firn's bookkeeping \
            (firn_* tables, staging, closed history, the change log) cannot be written, Firn's tables \
            cannot be dropped or altered, and BEGIN/COMMIT/SAVEPOINT are refused; --read-only refuses \
            every write.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "Output format: table, csv or json.")
    var format: OutputFormat = .table

    @Flag(help: "Leave manual changes in the stream instead of applying them to history now.")
    var keepStream = false

    @Flag(help: "Refuse every write: the SQL may only read.")
    var readOnly = false

    @Argument(help: "The SQL (one or more statements separated by ;).")
    var sql: String

    func run() async throws {
        let settings = try options.settings()
        // SQL sees every entity's tables: with several entities and no --entity, it runs on the
        // first one's warehouse, and every entity's stream is consumed after it.
        let entities = options.entity == nil && settings.allEntities.count > 1 ? settings.allEntities : []
        let warehouse: any Warehouse
        if let first = entities.first {
            warehouse = try await options.openWarehouse(for: first, settings, creating: false)
        } else {
            (warehouse, _) = try await options.openWarehouse(creating: false)
        }
        let outcome = try await warehouse.query(sql, readOnly: readOnly)
        let (result, changes) = (outcome.result, outcome.changes)
        if !result.columns.isEmpty {
            print(result.formatted(as: format), terminator: "")
        } else if format == .table {
            print("(\(changes) row\(changes == 1 ? "" : "s") changed)")
        }
        if !keepStream, !readOnly {
            var streams = [warehouse]
            for other in entities.dropFirst() {
                streams.append(try await options.openWarehouse(for: other, beside: warehouse, settings, creating: false))
            }
            for stream in streams {
                let consumed = try await stream.consumeStream()
                if consumed.changesConsumed > 0, format == .table {
                    print(
                        "stream \(stream.entity.streamName): applied \(consumed.changesConsumed) change(s) to history "
                            + "(versions opened \(consumed.counts.versionsOpened), closed \(consumed.counts.versionsClosed))"
                    )
                }
            }
        }
    }
}
