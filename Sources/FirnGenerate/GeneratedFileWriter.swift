import FirnCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a ``ChangeGenerator``'s files into a landing directory at the configured rate:
/// what `firn generate` runs, and what `firn run --generate` and benchmarks run in process.
///
/// Each file is written under a hidden temporary name in the target directory
/// (`.customers-000042.csv.tmp`), flushed to disk, then renamed to its name
/// (`customers-000042.csv`) and the directory flushed: a reader listing the directory sees a
/// file whole or not at all, as long as it skips names starting with `.`.
///
/// Pacing: file `j` of a run is renamed into place at `start + (j + 1) × rowsPerFile / rate`
/// on `ContinuousClock` (its rows' event times have then all passed, when the start time is
/// the run's start), so the schedule does not drift; a writer that falls behind renames at once.
/// With ``Configuration/isPaced`` false, files are written back to back.
///
/// Resuming: with a ``Configuration/stateFile``, the ``GeneratorState`` is saved after each
/// rename, and a later run continues with the next file, after checking that it asks for the
/// same ``GeneratorConfiguration``. A crash between a rename and the state's save makes the
/// next run write that file again, with identical bytes.
///
/// ## Topics
/// - ``run(onFile:)``
/// - ``WrittenFile``
/// - ``Summary``
public struct GeneratedFileWriter: Sendable {
    /// Where and how many files to write.
    public struct Configuration: Sendable, Hashable {
        /// The directory the files appear in; created when missing.
        public var directory: String
        /// The start of every file name: not empty, no `/`, not starting with `.`.
        /// Defaults to `customers-`.
        public var filePrefix: String = "customers-"
        /// Where the run's ``GeneratorState`` is kept. Defaults to `nil`: no state, every run
        /// starts at file 0.
        public var stateFile: String?
        /// Ignore a saved state and start at file 0 (replacing files of the same names).
        /// Defaults to `false`.
        public var startsFresh = false
        /// Stop after writing this many files in this run. Defaults to `nil` (no limit).
        public var fileLimit: Int?
        /// Stop once the next file's scheduled time would be later than this after the start.
        /// Defaults to `nil` (no limit). With neither limit, the run goes on until cancelled.
        public var duration: Duration?
        /// Whether files follow the rate's schedule; `false` writes them as fast as possible.
        /// Defaults to `true`.
        public var isPaced = true

        /// Creates a configuration for `directory`, other properties at their defaults.
        ///
        /// - Parameter directory: The landing directory.
        public init(directory: String) {
            self.directory = directory
        }

        /// The default state file for `directory`: `<directory>/.firn-generate.json` (hidden,
        /// so a landing-directory watcher skips it).
        public static func defaultStateFile(in directory: String) -> String {
            (directory as NSString).appendingPathComponent(".firn-generate.json")
        }
    }

    /// One file, renamed into place.
    public struct WrittenFile: Sendable, Hashable {
        /// Its index (file `index` of the configuration, counting from 0).
        public var index: Int
        /// Its name: `customers-000042.csv`.
        public var name: String
        /// Its path.
        public var path: String
        /// Rows per kind.
        public var counts: GeneratedCounts
        /// The wall-clock instant the rename completed, in nanoseconds since the Unix epoch
        /// (`CLOCK_REALTIME`): freshness is measured from here.
        public var renamedAtNanoseconds: Int64

        /// ``renamedAtNanoseconds`` as a `Date`.
        public var renamedAt: Date { Date(timeIntervalSince1970: Double(renamedAtNanoseconds) / 1e9) }
    }

    /// What a run did.
    public struct Summary: Sendable, Hashable {
        /// The first file this run wrote (the saved ``GeneratorState/nextFile``, or 0).
        public var firstFile: Int
        /// Files written in this run.
        public var filesWritten: Int
        /// The next file a later run would write.
        public var nextFile: Int { firstFile + filesWritten }
        /// Rows per kind over this run's files.
        public var counts = GeneratedCounts()
        /// Whether the run stopped because its task was cancelled.
        public var wasCancelled = false
        /// Seconds spent regenerating files `0..<firstFile` to resume.
        public var resumeSeconds: Double = 0
        /// CPU seconds the run used, on whichever threads it ran: generating rows, writing CSV
        /// text, writing, syncing and renaming files (its waits between files not counted).
        public var cpuSeconds: Double = 0
    }

    /// The rows' settings.
    public var generator: GeneratorConfiguration
    /// Where and how many files.
    public var configuration: Configuration

    /// Creates a writer.
    ///
    /// - Parameters:
    ///   - generator: The rows' settings.
    ///   - configuration: Where and how many files.
    public init(generator: GeneratorConfiguration, configuration: Configuration) {
        self.generator = generator
        self.configuration = configuration
    }

    /// Writes files until the file limit or duration is reached or the task is cancelled.
    ///
    /// Cancellation is prompt: a pending wait ends at once, a temporary file not yet renamed
    /// is removed, and the run returns normally with ``Summary/wasCancelled`` set; every file
    /// it reported is complete and recorded in the state. Temporary files left by a killed
    /// earlier run (`.<prefix>*.tmp`) are removed at the start.
    ///
    /// - Parameter onFile: Called after each file is renamed into place and the state saved,
    ///   on the caller's task; an error it throws ends the run.
    /// - Returns: What the run did.
    /// - Throws: ``GenerateError`` when the configuration is invalid, the saved state was made
    ///   with other settings or cannot be read, or a file cannot be written; or what `onFile` throws.
    @discardableResult
    public func run(onFile: (WrittenFile) async throws -> Void = { _ in }) async throws -> Summary {
        try generator.validate()
        let prefix = configuration.filePrefix
        guard !prefix.isEmpty, !prefix.hasPrefix("."), !prefix.contains("/") else {
            throw GenerateError.invalidConfiguration(
                "file prefix \(prefix.debugDescription) must be non-empty, not start with '.' and hold no '/'"
            )
        }
        let directory = configuration.directory
        try AtomicFile.createDirectory(directory)
        removeStaleTemporaryFiles()
        var firstFile = 0
        if let stateFile = configuration.stateFile, !configuration.startsFresh,
            let saved = try GeneratorState.load(from: stateFile)
        {
            let differences = saved.configuration.differences(from: generator)
            guard differences.isEmpty else {
                throw GenerateError.stateMismatch(path: stateFile, differences: differences)
            }
            firstFile = saved.nextFile
        }
        let clock = ContinuousClock()
        let resumeStart = clock.now
        let settings = generator
        let resumeAt = firstFile
        var (changes, resumeCPU) = try await AtomicFile.offload { () throws(GenerateError) in
            try ThreadCPUTime.measuring { () throws(GenerateError) in try ChangeGenerator(configuration: settings, resumingAt: resumeAt) }
        }
        var summary = Summary(firstFile: firstFile, filesWritten: 0)
        summary.resumeSeconds = Self.seconds(clock.now - resumeStart)
        summary.cpuSeconds = resumeCPU

        let interval = Duration.nanoseconds(Int64((generator.secondsPerFile * 1e9).rounded()))
        let start = clock.now
        while true {
            if let limit = configuration.fileLimit, summary.filesWritten >= limit { break }
            let offset = interval * (summary.filesWritten + 1)
            if let duration = configuration.duration, offset > duration { break }
            if Task.isCancelled {
                summary.wasCancelled = true
                break
            }
            let ((file, bytes), generating) = ThreadCPUTime.measuring {
                let file = changes.nextFile()
                return (file, file.csv(settings))
            }
            let name = file.name(prefix: configuration.filePrefix)
            let path = (directory as NSString).appendingPathComponent(name)
            let temporary = (directory as NSString).appendingPathComponent(AtomicFile.temporaryName(for: name))
            summary.cpuSeconds += generating
            summary.cpuSeconds += try await AtomicFile.offload { () throws(GenerateError) in
                try ThreadCPUTime.measuring { () throws(GenerateError) in try AtomicFile.writeDurably(bytes, to: temporary) }.seconds
            }
            if configuration.isPaced { try? await Task.sleep(until: start + offset, clock: clock) }
            if Task.isCancelled {
                unlink(temporary)
                summary.wasCancelled = true
                break
            }
            let state = GeneratorState(configuration: generator, nextFile: file.index + 1)
            let stateFile = configuration.stateFile
            let (renamedAt, publishCPU) = try await AtomicFile.offload { () throws(GenerateError) in
                try ThreadCPUTime.measuring { () throws(GenerateError) in
                    try AtomicFile.publish(temporary, as: path)
                    let renamedAt = AtomicFile.wallClockNanoseconds()
                    if let stateFile { try state.save(to: stateFile) }
                    return renamedAt
                }
            }
            summary.cpuSeconds += publishCPU
            let counts = file.counts
            summary.filesWritten += 1
            summary.counts += counts
            try await onFile(
                WrittenFile(index: file.index, name: name, path: path, counts: counts, renamedAtNanoseconds: renamedAt)
            )
        }
        return summary
    }

    /// Removes `.<prefix>*.tmp` files a killed run left behind.
    private func removeStaleTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: configuration.directory)) ?? []
        for name in names where name.hasPrefix("." + configuration.filePrefix) && name.hasSuffix(".tmp") {
            unlink((configuration.directory as NSString).appendingPathComponent(name))
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
