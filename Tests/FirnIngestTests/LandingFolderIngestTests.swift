import FirnIngest
import FirnObjectStore
import Foundation
import Testing

/// Several entities in one flow: one ingest per landing sub-folder (an entity routed by
/// folder) beside the landing directory's own, all sharing one journal; a file no route takes
/// goes to the failed folder with the reason.
@Suite("Ingest: landing sub-folders")
struct LandingFolderIngestTests {
    /// Every file in a sub-folder's ingest is recorded and keyed under the folder.
    @Test func aSubFolderRecordsAndKeysItsFilesUnderTheFolder() throws {
        let configuration = IngestConfiguration(landingDirectory: "/d/landing", dataDirectory: "/d").folder("eu/customers/")
        #expect(configuration.landingDirectory == "/d/landing/eu/customers")
        #expect(configuration.processingDirectory == "/d/ingest-processing/eu/customers")
        #expect(configuration.failedDirectory == "/d/failed/eu/customers")
        #expect(configuration.archiveDirectory == "/d/archive")
        #expect(configuration.recordedName("a.csv") == "eu/customers/a.csv")
        #expect(configuration.owns(recordedName: "eu/customers/a.csv"))
        #expect(!configuration.owns(recordedName: "a.csv"))
        #expect(!configuration.owns(recordedName: "eu/customers/x/a.csv"))
        let top = IngestConfiguration(landingDirectory: "/d/landing", dataDirectory: "/d")
        #expect(top.recordedName("a.csv") == "a.csv")
        #expect(top.owns(recordedName: "a.csv"))
        #expect(!top.owns(recordedName: "eu/customers/a.csv"))
    }

    @Test func foldersAreIngestedApartAndAFileNoRouteTakesFails() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let journal = try fixture.journal()
        // As the pipe routes them: by object key (`2026/12/03/customers/a.csv`).
        let refusal: @Sendable (String) -> String? = { key in
            key.contains("/customers/") || key.contains("/orders/") || key.split(separator: "/").last!.hasPrefix("orders-")
                ? nil : "no entity's route matches it"
        }
        let ingestors = [
            fixture.configuration, fixture.configuration.folder("customers"), fixture.configuration.folder("orders"),
        ].map { Ingestor(configuration: $0, store: bucket, journal: journal, refusal: refusal) }
        for folder in ["customers", "orders"] {
            try FileManager.default.createDirectory(atPath: fixture.landing + "/" + folder, withIntermediateDirectories: true)
        }
        try await whileRunning(ingestors[0]) {
            try await whileRunning(ingestors[1]) {
                try await whileRunning(ingestors[2]) {
                    // The same name and content in two folders: two files, not a duplicate.
                    try Self.land(fixture.landing + "/customers", "a.csv", "id\n1\n")
                    try Self.land(fixture.landing + "/orders", "a.csv", "id\n1\n")
                    try fixture.land("orders-7.csv", "id\n7\n")
                    try fixture.land("stray.csv", "id\n9\n")
                    #expect(await eventually { try journal.unfinished().isEmpty && journal.recent().count == 4 })
                }
            }
        }
        let keys = try await bucket.list(after: nil).map(\.key.rawValue)
        let day = try #require(keys.first.map { String($0.prefix(11)) })
        #expect(keys.sorted() == ["\(day)customers/a.csv", "\(day)orders-7.csv", "\(day)orders/a.csv"])
        #expect(try journal.find("customers/a.csv").map(\.state) == [.archived])
        #expect(try journal.find("orders/a.csv").map(\.state) == [.archived])
        #expect(FileManager.default.fileExists(atPath: fixture.root + "/archive/\(day)customers/a.csv"))
        #expect(FileManager.default.fileExists(atPath: fixture.root + "/archive/\(day)orders/a.csv"))
        let stray = try #require(try journal.find("stray.csv").first)
        #expect(stray.state == .failed)
        #expect(
            try String(contentsOfFile: fixture.root + "/failed/stray.csv.error.txt", encoding: .utf8)
                == "no entity's route matches it\n"
        )
        #expect(ingestors[0].statistics.filesFailed == 1)
    }

    /// A file admitted to the journal when the process stopped, before the route check: the
    /// check is made when its journey resumes, so it fails instead of being uploaded.
    @Test func aResumedJourneyIsCheckedAgainstTheRoutes() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let journal = try fixture.journal()
        try FileManager.default.createDirectory(atPath: fixture.configuration.processingDirectory, withIntermediateDirectories: true)
        let path = fixture.configuration.processingDirectory + "/x-stray.csv"
        try Data("id\n1\n".utf8).write(to: URL(fileURLWithPath: path))
        _ = try journal.admit(name: "stray.csv", landingPath: path, size: 5, sha256: "ss", key: "2026/12/03/stray.csv")
        let ingestor = Ingestor(
            configuration: fixture.configuration,
            store: bucket,
            journal: journal,
            refusal: { key in key.hasSuffix("stray.csv") ? "no entity's route matches it" : nil }
        )
        try await whileRunning(ingestor) {
            #expect(await eventually { try journal.unfinished().isEmpty })
        }
        #expect(try journal.find("stray.csv").map(\.state) == [.failed])
        #expect(try await bucket.list(after: nil).isEmpty, "nothing uploaded")
        #expect(FileManager.default.fileExists(atPath: fixture.root + "/failed/stray.csv.error.txt"))
    }

    /// Writes a file into `directory` under a temporary name, then renames it.
    static func land(_ directory: String, _ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/.\(name).tmp"))
        try FileManager.default.moveItem(atPath: directory + "/.\(name).tmp", toPath: directory + "/" + name)
    }

    /// A journey a crash interrupted in a sub-folder is finished by that folder's ingest only.
    @Test func aSubFolderResumesOnlyItsOwnJourneys() async throws {
        let fixture = try IngestFixture()
        defer { fixture.remove() }
        let bucket = try fixture.bucket()
        let journal = try fixture.journal()
        // A dash in the folder's name: the landing directory's own recovery must not take the
        // sub-folder under its processing folder for a claimed file.
        let folder = fixture.configuration.folder("eu-customers")
        try FileManager.default.createDirectory(atPath: folder.processingDirectory, withIntermediateDirectories: true)
        let path = folder.processingDirectory + "/x-b.csv"
        try Data("id\n2\n".utf8).write(to: URL(fileURLWithPath: path))
        guard
            case .upload(let entry) = try journal.admit(
                name: "eu-customers/b.csv",
                landingPath: path,
                size: 5,
                sha256: "bb",
                key: "k/eu-customers/b.csv"
            )
        else { throw TestFailure("eu-customers/b.csv not admitted") }
        _ = try await bucket.put(file: path, key: try ObjectKey("k/eu-customers/b.csv"))
        try journal.recordUpload(entry.id, etag: "e")

        // The landing directory's own ingest leaves it alone (it took another file meanwhile).
        try await whileRunning(Ingestor(configuration: fixture.configuration, store: bucket, journal: journal)) {
            try fixture.land("top.csv", "id\n3\n")
            #expect(await eventually { try journal.find("top.csv").map(\.state) == [.archived] })
        }
        #expect(try journal.unfinished().map(\.name) == ["eu-customers/b.csv"])
        #expect(FileManager.default.fileExists(atPath: path), "the sub-folder's claim stayed in place")

        let resumed = UploadLog()
        try await whileRunning(Ingestor(configuration: folder, store: bucket, journal: journal) { resumed.append($0) }) {
            #expect(await eventually { try journal.unfinished().isEmpty })
        }
        #expect(resumed.count == 1, "the pipe is told again")
        #expect(try journal.find("eu-customers/b.csv").map(\.state) == [.archived])
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
