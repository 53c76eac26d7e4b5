import ArgumentParser
import FirnConfig
import FirnCore
import FirnGenerate
import Foundation

/// `firn generate`: synthetic customer change files, deterministic for a seed, at a rate.
struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write synthetic customer change files (deterministic for a seed) into the landing directory.",
        discussion: """
            Each file holds --rows-per-file CSV rows: about 25% new customers, 70% updates of 1-3 \
            fields of live customers, 5% deletes (op D), plus --late-fraction of rows as updates \
            delivered late by up to 60 s of event time (median 7.5 s). Names, emails, streets, cities, states and \
            countries come from word lists in the package. Event times (update_timestamp) run from \
            --start-time at --rate rows per second, so the same seed and start time give the same \
            bytes. A file is written under a hidden temporary name, flushed, then renamed to \
            customers-NNNNNN.csv, one every rows-per-file / rate seconds. Writes 10 files unless \
            --files or --duration says otherwise.

            The run's settings and next file are saved in a state file (default \
            <output>/.firn-generate.json); a later run continues with the next file and refuses \
            other settings unless --fresh is given. Interrupting leaves at most a hidden temporary \
            file, which the next run removes.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "Seed of the random stream. Default: 1, or the saved state's.")
    var seed: UInt64?

    @Option(help: "Rows per second, of event time and of writing. Default: 1000, or the saved state's.")
    var rate: Double?

    @Option(help: "Rows in each file. Default: 1000, or the saved state's.")
    var rowsPerFile: Int?

    @Option(help: "Write this many files in this run. Default: 10 when --duration is not given.")
    var files: Int?

    @Option(help: "Stop after this many seconds (the files scheduled within it).")
    var duration: Double?

    @Option(help: "Share of rows that are late updates, 0 to 0.7. Default: 0, or the saved state's.")
    var lateFraction: Double?

    @Option(
        help: """
            From this file number on, files carry a column the customer does not have, loyalty_tier \
            (schema_evolution: evolve adds it). Default: never, or the saved state's.
            """
    )
    var evolveAtFile: Int?

    @Option(
        help: """
            Share of updates written as partial images (unchanged fields empty), 0 to 1; load them under \
            null_updates: ignore. Default: 0, or the saved state's.
            """
    )
    var partialImages: Double?

    @Option(help: "Event time of the first row, ISO-8601 (no offset means UTC). Default: now, or the saved state's.")
    var startTime: String?

    @Option(help: "Directory the files appear in. Default: the landing directory (--landing, <data-dir>/landing).")
    var output: String?

    @Option(help: "State file. Default: <output>/.firn-generate.json.")
    var state: String?

    @Flag(help: "Ignore the saved state: start again at file 0, replacing files of the same names.")
    var fresh = false

    @Flag(help: "Write files back to back instead of one every rows-per-file / rate seconds.")
    var unpaced = false

    func validate() throws {
        if let rate { try NumericBounds.generatorRate.check(rate, "--rate") }
        if let rowsPerFile { try NumericBounds.rowsPerFile.check(rowsPerFile, "--rows-per-file") }
        if let files { try NumericBounds.generatedFiles.check(files, "--files") }
        if let duration { try NumericBounds.generatorDuration.check(duration, "--duration") }
        if let lateFraction { try NumericBounds.lateFraction.check(lateFraction, "--late-fraction") }
        if let evolveAtFile { try NumericBounds.evolveAtFile.check(evolveAtFile, "--evolve-at-file") }
        if let partialImages { try NumericBounds.partialShare.check(partialImages, "--partial-images") }
        if let startTime, Timestamp(parsing: startTime) == nil {
            throw ValidationError("--start-time \(startTime) is not a timestamp; write e.g. 2026-03-01T10:00:00Z")
        }
    }

    /// Where generated customer files go: the landing directory, or with several entities
    /// (`entities:`) the customer entity's landing folder, or the landing directory when a name
    /// route there takes the generated files.
    ///
    /// - Throws: `ValidationError` when the config has no customer-shaped entity, or no route
    ///   of it takes the generated files.
    static func landing(_ settings: FirnSettings, command: String) throws -> String {
        guard let customer = settings.allEntities.first(where: { $0.hasShape(of: .customer) }) else {
            throw ValidationError(
                "\(command) writes customer files, but the config declares entity \(settings.entity.name); "
                    + "use a config that declares no other entity (options of the built-in customer are fine), or none"
            )
        }
        let sample = GeneratedFileWriter.Configuration(directory: "").filePrefix + "000000.csv"
        guard let landing = settings.landingDirectory(of: customer, forFileNamed: sample) else {
            throw ValidationError(
                "\(command) writes files named \(sample) for entity \(customer.name), but no route of it takes them "
                    + "(routes: \(settings.routeList)); route it by folder (customers/) or a pattern such as customers-*.csv"
            )
        }
        return landing
    }

    func run() async throws {
        let settings = try options.settings()
        let output = try output ?? Self.landing(settings, command: "firn generate")
        let statePath = state ?? GeneratedFileWriter.Configuration.defaultStateFile(in: output)
        let saved = fresh ? nil : try GeneratorState.load(from: statePath)

        var generator = saved?.configuration ?? GeneratorConfiguration(seed: 1, startTime: .now())
        if let seed { generator.seed = seed }
        if let rate { generator.rate = rate }
        if let rowsPerFile { generator.rowsPerFile = rowsPerFile }
        if let lateFraction { generator.lateFraction = lateFraction }
        if let evolveAtFile { generator.evolveAtFile = evolveAtFile }
        if let partialImages { generator.partialShare = partialImages }
        if let startTime { generator.startTime = Timestamp(parsing: startTime)! }
        do { try generator.validate() } catch { throw ValidationError(error.description) }

        var writing = GeneratedFileWriter.Configuration(directory: output)
        writing.stateFile = statePath
        writing.startsFresh = fresh
        writing.fileLimit = files ?? (duration == nil ? 10 : nil)
        writing.duration = duration.map { .milliseconds(Int64(($0 * 1000).rounded())) }
        writing.isPaced = !unpaced

        print(
            "generating into \(output) from file \(saved?.nextFile ?? 0): seed \(generator.seed), "
                + "start time \(CustomerCSV.isoTime(generator.startTime)), \(Self.number(generator.rate)) rows/s, "
                + "\(generator.rowsPerFile) rows per file, late fraction \(Self.number(generator.lateFraction))"
                + (generator.evolveAtFile.map { ", loyalty_tier from file \($0)" } ?? "")
                + (generator.partialShare > 0 ? ", partial images \(Self.number(generator.partialShare))" : "")
        )
        let summary = try await GeneratedFileWriter(generator: generator, configuration: writing).run { file in
            print("\(file.name): \(file.counts)")
        }
        var line = "wrote \(summary.filesWritten) file(s), \(summary.counts)"
        if summary.wasCancelled { line += ", interrupted" }
        if summary.firstFile > 0 {
            line += String(
                format: "; resumed at file %d (earlier files regenerated in %.3f s)",
                summary.firstFile,
                summary.resumeSeconds
            )
        }
        print(line + "; next file \(summary.nextFile), state in \(statePath)")
    }

    /// `1000` rather than `1000.0`; fractions as they are.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
