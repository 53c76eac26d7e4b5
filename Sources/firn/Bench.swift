import ArgumentParser

/// `firn bench`: benchmarks.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks with reports (figures, never assertions).",
        subcommands: []
    )
}
