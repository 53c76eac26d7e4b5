import Crypto
import FirnMetrics
import FirnObjectStore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The end of a file's journey: archived, deleted or failed, and the file moves that takes.
extension Ingestor {
    /// Archives or deletes the landing file and records the end of the journey.
    func finish(_ entry: IngestedFile, state: IngestedFile.State) throws(IngestError) {
        var finalPath: String?
        if configuration.afterUpload == .delete && state != .duplicate {
            unlink(entry.landingPath)
        } else {
            // The landing sub-folder under the date folder, so retention reads the date first.
            let folder = (configuration.archiveDirectory as NSString).appendingPathComponent(
                Self.dateFolder() + (configuration.folder.map { "/" + $0 } ?? "")
            )
            finalPath = try move(entry, into: folder)
        }
        try journal.recordFinish(entry.id, state: state, finalPath: finalPath)
    }

    /// Moves a file that keeps failing to the failed folder, with a `.error.txt` beside it.
    func fail(_ entry: IngestedFile, reason: String) throws(IngestError) {
        logger.error("\(entry.name): moved to \(configuration.failedDirectory): \(reason)")
        let path = try move(entry, into: configuration.failedDirectory, reserving: Self.errorSuffix.utf8.count)
        do {
            try Data((reason + "\n").utf8).write(to: URL(fileURLWithPath: path + Self.errorSuffix))
        } catch {
            logger.error("\(entry.name): cannot write \(path + Self.errorSuffix): \(error.localizedDescription)")
        }
        stats.withLockedValue { $0.filesFailed += 1 }
        FirnMetrics.ingested(outcome: "failed")
        try journal.recordFinish(entry.id, state: .failed, finalPath: path, error: reason)
    }

    static let errorSuffix = ".error.txt"

    /// Moves the claimed file into `folder` under its name (`name.<id>.ext` when taken), cut to
    /// leave `reserving` bytes of the file system's name limit free.
    func move(_ entry: IngestedFile, into folder: String, reserving: Int = 0) throws(IngestError) -> String {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw .landing(path: folder, reason: "cannot create: \(error.localizedDescription)")
        }
        let limit = LandingName.maximumBytes - reserving
        // The file's own name: a sub-folder's files are recorded as `folder/name`.
        let name = entry.name.split(separator: "/").last.map(String.init) ?? entry.name
        var destination = (folder as NSString).appendingPathComponent(LandingName.fitted(name, toBytes: limit))
        if FileManager.default.fileExists(atPath: destination) {
            destination = (folder as NSString).appendingPathComponent(
                LandingName.fitted(name, suffix: ".\(entry.id)", toBytes: limit)
            )
        }
        if rename(entry.landingPath, destination) != 0 {
            if errno == ENOENT { return destination }
            do {
                try FileManager.default.copyItem(atPath: entry.landingPath, toPath: destination)
                try FileManager.default.removeItem(atPath: entry.landingPath)
            } catch {
                throw .landing(
                    path: entry.landingPath,
                    reason: "cannot move to \(folder): \(error.localizedDescription)"
                )
            }
        }
        return destination
    }

    static func dateFolder() -> String {
        let key = ObjectKeyTemplate(unchecked: "{yyyy}/{MM}/{dd}")
        return key.key(name: "", landedAtEpochSeconds: Int64(Date().timeIntervalSince1970))
    }

    /// Size and hex SHA-256 of a file, read 1 MiB at a time.
    static func checksum(_ path: String) throws -> (Int64, String) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw IngestError.landing(path: path, reason: "cannot open")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (size, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }
}
