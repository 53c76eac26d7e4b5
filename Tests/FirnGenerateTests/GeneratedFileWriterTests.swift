import FirnCore
import FirnGenerate
import Foundation
import Testing

/// The writer on a real temporary directory: atomic appearance, resuming, pacing, cancellation.
@Suite(.serialized) struct GeneratedFileWriterTests {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("firn-writer-\(UUID())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func generator(rate: Double = 100_000, rowsPerFile: Int = 500) -> GeneratorConfiguration {
        var generator = GeneratorConfiguration(seed: 3, startTime: Timestamp(year: 2026, month: 3, day: 1)!)
        generator.rate = rate
        generator.rowsPerFile = rowsPerFile
        generator.lateFraction = 0.05
        return generator
    }

    static func writer(
        _ directory: String,
        files: Int? = nil,
        paced: Bool = false,
        generator: GeneratorConfiguration = Self.generator()
    ) -> GeneratedFileWriter {
        var configuration = GeneratedFileWriter.Configuration(directory: directory)
        configuration.stateFile = GeneratedFileWriter.Configuration.defaultStateFile(in: directory)
        configuration.fileLimit = files
        configuration.isPaced = paced
        return GeneratedFileWriter(generator: generator, configuration: configuration)
    }

    static func names(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    static func contents(_ directory: String, _ name: String) -> Data? {
        FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name))
    }

    @Test func resumedRunWritesTheFilesAnUninterruptedRunWrites() async throws {
        let straight = try Self.temporaryDirectory()
        let resumed = try Self.temporaryDirectory()
        defer { for path in [straight, resumed] { try? FileManager.default.removeItem(atPath: path) } }
        try await Self.writer(straight, files: 5).run()
        var reported: [String] = []
        let first = try await Self.writer(resumed, files: 3).run { reported.append($0.name) }
        #expect(first.firstFile == 0 && first.filesWritten == 3 && !first.wasCancelled)
        #expect(reported == ["customers-000000.csv", "customers-000001.csv", "customers-000002.csv"])
        let second = try await Self.writer(resumed, files: 2).run()
        #expect(second.firstFile == 3 && second.nextFile == 5)
        let names = try Self.names(straight)
        #expect(names == [".firn-generate.json"] + (0..<5).map { String(format: "customers-%06d.csv", $0) })
        #expect(try Self.names(resumed) == names)
        for name in names { #expect(Self.contents(straight, name) == Self.contents(resumed, name), "\(name)") }
        let state = try GeneratorState.load(from: GeneratedFileWriter.Configuration.defaultStateFile(in: resumed))
        #expect(state?.nextFile == 5 && state?.configuration == Self.generator())
    }

    @Test func otherSettingsAreRefusedUnlessStartingFresh() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Self.writer(directory, files: 2).run()
        var other = Self.generator()
        other.seed = 4
        do {
            try await Self.writer(directory, files: 1, generator: other).run()
            Issue.record("a run with another seed continued the saved state")
        } catch let error as GenerateError {
            #expect(error.description.contains("seed 3 → 4"), "\(error)")
            #expect(error.description.contains("--fresh"))
        }
        var fresh = Self.writer(directory, files: 1, generator: other)
        fresh.configuration.startsFresh = true
        let summary = try await fresh.run()
        #expect(summary.firstFile == 0)
        let state = try GeneratorState.load(from: GeneratedFileWriter.Configuration.defaultStateFile(in: directory))
        #expect(state?.configuration.seed == 4 && state?.nextFile == 1)
    }

    /// A lister polling the directory while files are written never sees a visible file that
    /// is not complete, and no temporary file is left.
    @Test func concurrentListerNeverSeesAPartialFile() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rowsPerFile = 4000
        let generator = Self.generator(rowsPerFile: rowsPerFile)
        let checked = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                try await Self.writer(directory, files: 25, generator: generator).run()
                return -1
            }
            group.addTask {
                var seen = Set<String>()
                while !Task.isCancelled {
                    for name in try Self.names(directory) where !name.hasPrefix(".") && !seen.contains(name) {
                        seen.insert(name)
                        let path = (directory as NSString).appendingPathComponent(name)
                        var reader = try RecordFileReader(
                            path: path,
                            entity: .customer,
                            load: 1,
                            defaultEventTime: Timestamp(microseconds: 0)
                        )
                        var rows = 0
                        while let chunk = try reader.nextChunk() {
                            #expect(chunk.rejects.isEmpty, "\(name): \(chunk.rejects.prefix(2))")
                            rows += chunk.records.count
                        }
                        #expect(rows == rowsPerFile, "\(name) seen with \(rows) rows")
                    }
                    try? await Task.sleep(for: .milliseconds(1))
                }
                return seen.count
            }
            #expect(try await group.next() == -1)
            group.cancelAll()
            return try await group.next()!
        }
        #expect(checked > 0, "the lister saw files while they were written")
        let names = try Self.names(directory)
        #expect(names.filter { $0.hasSuffix(".tmp") }.isEmpty, "\(names)")
        #expect(names.filter { $0.hasSuffix(".csv") }.count == 25)
    }

    @Test func pacedFilesFollowTheRateWithoutDrift() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 100 rows at 2000 rows/s: a file every 50 ms.
        let clock = ContinuousClock()
        let start = clock.now
        var renames: [Int64] = []
        let writer = Self.writer(
            directory,
            files: 6,
            paced: true,
            generator: Self.generator(rate: 2000, rowsPerFile: 100)
        )
        try await writer.run { renames.append($0.renamedAtNanoseconds) }
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(300), "6 files at 50 ms each took \(elapsed)")
        // No upper bound: the machine is shared; pacing (not writing back to back) is what is checked.
        #expect(renames.count == 6 && renames == renames.sorted())

        var timed = Self.writer(directory, paced: true, generator: Self.generator(rate: 2000, rowsPerFile: 100))
        timed.configuration.startsFresh = true
        timed.configuration.duration = .milliseconds(275)
        let summary = try await timed.run()
        #expect(summary.filesWritten == 5, "a 275 ms run at 50 ms per file writes 5 files")
    }

    @Test func cancellationStopsPromptlyAndLeavesNoTemporaryFile() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 1000 rows at 100 rows/s: the first file is due after 10 s.
        let writer = Self.writer(directory, paced: true, generator: Self.generator(rate: 100, rowsPerFile: 1000))
        let clock = ContinuousClock()
        let (summary, elapsed) = try await withThrowingTaskGroup(of: GeneratedFileWriter.Summary?.self) { group in
            group.addTask { try await writer.run() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(300))
                return nil
            }
            _ = try await group.next()
            let cancelled = clock.now
            group.cancelAll()
            let summary = try await group.next()!!
            return (summary, clock.now - cancelled)
        }
        #expect(summary.wasCancelled && summary.filesWritten == 0)
        // Well under the 10 s interval proves it does not wait for the next file; the bound is
        // loose because other suites share the machine.
        #expect(elapsed < .seconds(5), "stopping took \(elapsed), the interval is 10 s")
        #expect(try Self.names(directory).filter { $0 != ".firn-generate.json" }.isEmpty)
    }

    @Test func staleTemporaryFilesOfAKilledRunAreRemoved() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stale = (directory as NSString).appendingPathComponent(".customers-000000.csv.tmp")
        let other = (directory as NSString).appendingPathComponent(".someone-else.tmp")
        try "half a fi".write(toFile: stale, atomically: false, encoding: .utf8)
        try "theirs".write(toFile: other, atomically: false, encoding: .utf8)
        try await Self.writer(directory, files: 1).run()
        #expect(try Self.names(directory) == [".firn-generate.json", ".someone-else.tmp", "customers-000000.csv"])
    }

    /// Resuming regenerates the earlier files in memory; this prints how fast (a figure, not a bar).
    @Test func resumingRegeneratesEarlierFilesQuickly() throws {
        var configuration = Self.generator(rowsPerFile: 1000)
        configuration.lateFraction = 0.1
        let clock = ContinuousClock()
        let start = clock.now
        let generator = try ChangeGenerator(configuration: configuration, resumingAt: 500)
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("resume: regenerated 500,000 rows in \(elapsed), \(Int(500_000 / seconds)) rows/s")
        #expect(generator.nextFileIndex == 500)
        #expect(seconds < 30)
    }
}
