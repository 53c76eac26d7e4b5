import Foundation

/// Where a generator run stands, saved after every file so that a restarted run continues with
/// the next file instead of repeating customer ids or rewriting earlier files differently.
///
/// Saved as a small JSON object, written atomically (temporary file, fsync, rename):
///
/// ```json
/// {"seed":"1","start_time":"2026-03-01T10:00:00.000000Z","rate":1000,"rows_per_file":1000,
///  "new_share":0.25,"update_share":0.7,"delete_share":0.05,"late_fraction":0,
///  "max_lateness_seconds":60,"next_file":42}
/// ```
///
/// It records every setting that decides the rows (the whole ``GeneratorConfiguration``), not
/// the rows themselves: resuming at file `k` regenerates files `0..<k` in memory
/// (``ChangeGenerator/init(configuration:resumingAt:)``).
public struct GeneratorState: Sendable, Hashable {
    /// The settings the files were made with.
    public var configuration: GeneratorConfiguration
    /// The next file to write: files `0..<nextFile` are in place.
    public var nextFile: Int

    /// Creates a state.
    ///
    /// - Parameters:
    ///   - configuration: The settings.
    ///   - nextFile: The next file's index.
    public init(configuration: GeneratorConfiguration, nextFile: Int) {
        self.configuration = configuration
        self.nextFile = nextFile
    }

    /// Reads the state saved at `path`.
    ///
    /// - Parameter path: The state file.
    /// - Returns: The state, or `nil` when there is no file at `path`.
    /// - Throws: ``GenerateError/unreadableState(path:reason:)`` when the file exists but cannot
    ///   be read or is not a state.
    public static func load(from path: String) throws(GenerateError) -> GeneratorState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(GeneratorState.self, from: data)
        } catch {
            throw .unreadableState(path: path, reason: "\(error)")
        }
    }

    /// Saves the state at `path` atomically (a reader sees the old or the new state, never a mix).
    ///
    /// - Parameter path: The state file; its directory must exist.
    /// - Throws: ``GenerateError/io(path:reason:)`` when writing fails.
    public func save(to path: String) throws(GenerateError) {
        let data: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            data = try encoder.encode(self)
        } catch {
            throw .io(path: path, reason: "cannot encode the generator state: \(error)")
        }
        try AtomicFile.store(Array(data) + [UInt8(ascii: "\n")], at: path)
    }
}

extension GeneratorState: Codable {
    private enum CodingKeys: String, CodingKey {
        case nextFile = "next_file"
    }

    /// Decodes the flat JSON object described on the type.
    public init(from decoder: any Decoder) throws {
        configuration = try GeneratorConfiguration(from: decoder)
        nextFile = try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .nextFile)
    }

    /// Encodes the flat JSON object described on the type.
    public func encode(to encoder: any Encoder) throws {
        try configuration.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(nextFile, forKey: .nextFile)
    }
}
