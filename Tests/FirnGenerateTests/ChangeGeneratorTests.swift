import FirnCore
import FirnGenerate
import Foundation
import Testing

@Suite struct ChangeGeneratorTests {
    static func configuration(
        seed: UInt64 = 7,
        rowsPerFile: Int = 1000,
        lateFraction: Double = 0,
        maxLateness: Double = 60
    ) -> GeneratorConfiguration {
        var configuration = GeneratorConfiguration(seed: seed, startTime: Timestamp(year: 2026, month: 3, day: 1)!)
        configuration.rowsPerFile = rowsPerFile
        configuration.lateFraction = lateFraction
        configuration.maxLateness = maxLateness
        return configuration
    }

    static func files(_ configuration: GeneratorConfiguration, count: Int) throws -> [GeneratedFile] {
        var generator = try ChangeGenerator(configuration: configuration)
        return (0..<count).map { _ in generator.nextFile() }
    }

    @Test func sameSeedGivesIdenticalBytesOtherSeedOrStartDiffers() throws {
        let first = try Self.files(Self.configuration(lateFraction: 0.1), count: 4).map { $0.csv() }
        let again = try Self.files(Self.configuration(lateFraction: 0.1), count: 4).map { $0.csv() }
        #expect(first == again)
        let otherSeed = try Self.files(Self.configuration(seed: 8, lateFraction: 0.1), count: 4).map { $0.csv() }
        for (mine, theirs) in zip(first, otherSeed) { #expect(mine != theirs) }
        var later = Self.configuration(lateFraction: 0.1)
        later.startTime = Timestamp(microseconds: later.startTime.microseconds + 1)
        #expect(try Self.files(later, count: 1)[0].csv() != first[0])
    }

    @Test func resumingAtAFileGivesTheSameFilesAsGoingOn() throws {
        let configuration = Self.configuration(rowsPerFile: 700, lateFraction: 0.2, maxLateness: 1)
        let straight = try Self.files(configuration, count: 5)
        var resumed = try ChangeGenerator(configuration: configuration, resumingAt: 3)
        #expect(resumed.nextFileIndex == 3)
        #expect(resumed.nextFile().csv() == straight[3].csv())
        #expect(resumed.nextFile().csv() == straight[4].csv())
        #expect(resumed.nextFileIndex == 5)
    }

    @Test func headerNamesAndRowCount() throws {
        let file = try Self.files(Self.configuration(rowsPerFile: 3), count: 1)[0]
        let text = String(decoding: file.csv(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.first == "customer_id,first_name,last_name,email,street,city,state,country,update_timestamp,op")
        #expect(lines.count == 4)
        #expect(file.name() == "customers-000000.csv")
        #expect(GeneratedFile(index: 42, changes: []).name(prefix: "c-") == "c-000042.csv")
        #expect(GeneratedFile(index: 1_234_567, changes: []).name() == "customers-1234567.csv")
        #expect(lines[1].hasSuffix(",2026-03-01T00:00:00.000000Z,I"))
    }

    @Test func quotingFollowsRFC4180() {
        #expect(CustomerCSV.quoted("O'Brien") == "O'Brien")
        #expect(CustomerCSV.quoted("Korea, Republic of") == "\"Korea, Republic of\"")
        #expect(CustomerCSV.quoted("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CustomerCSV.quoted("") == "\"\"")
        #expect(CustomerCSV.quoted("Müller") == "Müller")
        #expect(CustomerCSV.isoTime(Timestamp(microseconds: 1_500)) == "1970-01-01T00:00:00.001500Z")
    }

    /// Every file reads back with FirnCore's reader, with no rejects, as exactly the generated records.
    @Test func filesParseWithTheRecordReaderWithoutRejects() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-gen-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var sawQuoted = false
        var sawUnicode = false
        for file in try Self.files(Self.configuration(rowsPerFile: 5000, lateFraction: 0.1), count: 3) {
            let url = directory.appendingPathComponent(file.name())
            let bytes = file.csv()
            try Data(bytes).write(to: url)
            let text = String(decoding: bytes, as: UTF8.self)
            sawQuoted = sawQuoted || text.contains("\"Korea, Republic of\"") && text.contains(", Apt ")
            sawUnicode = sawUnicode || text.contains("ü") || text.contains("ë")
            var reader = try RecordFileReader(
                path: url.path,
                entity: .customer,
                load: 1,
                defaultEventTime: Timestamp(microseconds: 0)
            )
            var records: [ChangeRecord] = []
            while let chunk = try reader.nextChunk() {
                #expect(chunk.rejects.isEmpty, "\(chunk.rejects.prefix(3))")
                records += chunk.records
            }
            let expected = file.changes.enumerated().map { $1.record(arrival: Arrival(load: 1, row: Int64($0 + 1))) }
            #expect(records == expected)
        }
        #expect(sawQuoted && sawUnicode)
    }

    @Test func invalidSettingsAreRefusedWithTheirName() {
        var configuration = Self.configuration()
        configuration.lateFraction = 0.8
        #expect(throws: GenerateError.self) { try ChangeGenerator(configuration: configuration) }
        configuration.lateFraction = 0
        configuration.rate = 2_000_000
        do {
            _ = try ChangeGenerator(configuration: configuration)
            Issue.record("a rate above one row per microsecond was accepted")
        } catch {
            #expect(error.description.contains("rate 2000000"))
        }
    }

    @Test func stateRoundTripsThroughJSON() throws {
        var configuration = Self.configuration(lateFraction: 0.125)
        configuration.seed = .max
        configuration.rate = 333.25
        let state = GeneratorState(configuration: configuration, nextFile: 17)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("firn-state-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try GeneratorState.load(from: path) == nil)
        try state.save(to: path)
        #expect(try GeneratorState.load(from: path) == state)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"start_time\":\"2026-03-01T00:00:00.000000Z\""))
        #expect(text.contains("\"next_file\":17"))
        try "{".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: GenerateError.self) { try GeneratorState.load(from: path) }
    }
}
