import ArgumentParser

/// `firn`: the command line. Each subcommand parses its flags and calls the libraries.
@main
struct Firn: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Real-time change pipeline: files of changes in, SCD1 and SCD2 tables out.",
        discussion: """
            Data lives under --data-dir (default ./firn-data): the warehouse (SQLite, firn.sqlite). \
            Tables for the default customer entity: customer_raw (staging), customer (SCD1), \
            customer_history (SCD2), customer_unchanged, customer_changes (the stream's log), firn_loads \
            (load history), firn_chunks, firn_rejects, firn_streams.
            """,
        subcommands: [
            Load.self, Query.self, History.self, AsOf.self, Stream.self, CopyHistory.self, Rejects.self, Bench.self,
        ]
    )
}
