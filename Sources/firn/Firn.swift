import ArgumentParser
import Foundation

/// `firn`: the command line. Each subcommand parses its flags and calls the libraries.
@main
struct Firn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Real-time change pipeline: files of changes in, SCD1 and SCD2 tables out.",
        discussion: """
            Data lives under --data-dir (default ./firn-data): landing/ (files dropped here, or written \
            by `firn generate`, are taken by `firn run` or `firn ingest`), bucket/ (the embedded \
            bucket), archive/ and failed/, ingest.sqlite (ingest's journal) and the warehouse (SQLite, \
            firn.sqlite). Tables for the default customer entity: customer_raw (staging), customer \
            (SCD1), customer_history (SCD2, a view over customer_history_closed and customer), \
            customer_unchanged, customer_changes (the stream's log), customer_before_dml, \
            firn_loads (load history), firn_chunks, firn_rejects, firn_streams, firn_entities, firn_pipe_objects, \
            firn_tasks and firn_task_runs (task state and run history).
            """,
        subcommands: [
            Run.self, Generate.self, Ingest.self, PipeCommand.self, TaskCommand.self, Provenance.self, Load.self,
            Query.self, Status.self, Serve.self,
            History.self, AsOf.self, Stream.self, CopyHistory.self, Rejects.self, SchemaCommand.self, Bench.self,
        ]
    )

    /// Runs the command with files and directories created readable by their owner only: they
    /// hold customer data (warehouse, journal, bucket, archive, generated files).
    static func main() async {
        umask(0o077)
        // ArgumentParser's own entry point, so commands run where they ran before (its main is
        // not isolated to the main thread, as one declared here would be).
        await main(nil)
    }
}
