import ArgumentParser
import FirnConfig
import FirnFlow
import FirnPipe
import FirnTasks
import FirnWarehouse
import Foundation

/// `firn task list|history|run|suspend|resume`: the scheduler's tasks.
struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "List, inspect, run, suspend and resume tasks (built-in load and retention, and SQL tasks).",
        discussion: """
            Tasks are declared in the config file's tasks: section and run by `firn run` (and `firn pipe`). \
            The built-in load task is the pipe (staging, SCD1 and SCD2 in one transaction per chunk), on data \
            by default; `schedule: 1 minute` makes it load once a minute as the seed does. State (started or \
            suspended) and run history are kept in firn_tasks and firn_task_runs.
            """,
        subcommands: [List.self, HistoryOfRuns.self, RunTask.self, Suspend.self, Resume.self]
    )

    /// Opens the warehouse. The task table is what `firn run` registered; only when no run
    /// ever registered tasks are the configured ones registered here, so these commands never
    /// drop another configuration's tasks (or their suspension).
    static func open(_ options: GlobalOptions) async throws -> (any Warehouse, [TaskDefinition]) {
        let (warehouse, settings) = try await options.openWarehouse()
        if try await warehouse.tasks().isEmpty {
            try await TaskScheduler(tasks: settings.tasks, warehouse: warehouse, pipe: nil).register()
        }
        return (warehouse, settings.tasks)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each task: trigger, state, last run.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Output format: table, csv or json.") var format: OutputFormat = .table

        func run() async throws {
            let (warehouse, _) = try await TaskCommand.open(options)
            print(QueryResult(tasks: try await warehouse.tasks()).formatted(as: format), terminator: "")
        }
    }

    struct HistoryOfRuns: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Show task runs, newest first: start, end, status, rows affected, error."
        )
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Only this task's runs.") var task: String?
        @Option(help: "At most this many runs.") var limit = 50
        @Option(help: "Output format: table, csv or json.") var format: OutputFormat = .table

        func validate() throws { try NumericBounds.listingLimit.check(limit, "--limit") }

        func run() async throws {
            let (warehouse, _) = try await options.openWarehouse(creating: false)
            let page = try await warehouse.taskRuns(task: task, .first(limit))
            print(QueryResult(taskRuns: page.items).formatted(as: format), terminator: "")
        }
    }

    struct RunTask: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a task once now (with its retries), whatever its schedule; recorded as manual."
        )
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The task.") var task: String

        func run() async throws {
            let (warehouse, settings) = try await options.openWarehouse()
            var pipe: AutoIngestPipe?
            if task == "load" {
                var configuration = options.pipeConfiguration(settings)
                configuration.isAutomatic = false
                pipe = AutoIngestPipe(
                    store: try options.openStore(settings),
                    warehouse: warehouse,
                    configuration: configuration
                )
            }
            var configuration = SchedulerConfiguration()
            configuration.archiveDirectory = (settings.dataDirectory as NSString).appendingPathComponent("archive")
            let scheduler = try TaskScheduler(
                tasks: settings.tasks,
                warehouse: warehouse,
                pipe: pipe,
                configuration: configuration
            )
            if try await warehouse.tasks().isEmpty { try await scheduler.register() }
            let succeeded = try await scheduler.runNow(task)
            let runs = try await warehouse.taskRuns(task: task, .first(1)).items
            print(QueryResult(taskRuns: runs).formatted(as: .table), terminator: "")
            if !succeeded { throw ExitCode.failure }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Suspend a task: it does not run until resumed (a running firn run notices within a second)."
        )
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The task.") var task: String

        func run() async throws {
            let (warehouse, _) = try await TaskCommand.open(options)
            try await warehouse.setTaskState(task, suspended: true)
            print("task \(task) suspended")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a suspended task (its failure count is reset)."
        )
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The task.") var task: String

        func run() async throws {
            let (warehouse, _) = try await TaskCommand.open(options)
            try await warehouse.setTaskState(task, suspended: false)
            print("task \(task) resumed")
        }
    }
}
