import ArgumentParser
import FirnConfig
import FirnCore
import FirnWarehouse

/// `firn schema [ENTITY]`: the entity's columns as its tables have them, and its schema history.
struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Show the entity's columns as its tables have them, and the columns schema evolution added.",
        discussion: """
            Attributes added by schema_evolution: evolve (or declared in the config later) show the \
            version, file and time of their change; --history lists the changes alone, oldest first.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "Output format: table, csv or json.")
    var format: OutputFormat = .table

    @Flag(help: "List the schema history (one row per change) instead of the columns.")
    var history = false

    @Argument(help: "The entity (one of the config's; the built-in customer without one). Default: --entity, or the only one.")
    var entity: String?

    func run() async throws {
        let settings = try options.settings()
        let chosen: EntityConfiguration
        do {
            chosen = try settings.entity(named: entity ?? options.entity)
        } catch {
            throw CommandError(error.message)
        }
        let warehouse = try await options.openWarehouse(for: chosen, settings, creating: false)
        let changes = try await warehouse.schemaHistory()
        if history {
            print(QueryResult(schemaHistory: changes).formatted(as: format), terminator: "")
            return
        }
        let current = warehouse.entity
        if format == .table {
            let version = changes.last?.version ?? 0
            print("entity \(current.name): schema_evolution \(current.schemaEvolution.rawValue), shape version \(version)")
        }
        print(QueryResult(columnsOf: current, history: changes).formatted(as: format), terminator: "")
    }
}
