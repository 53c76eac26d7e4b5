import FirnCore

/// Everything that decides the rows a ``ChangeGenerator`` produces: with the same
/// configuration, file `k` has the same bytes on every machine and every run.
///
/// Every property takes part in that promise, so the generator's saved state
/// (``GeneratorState``) keeps all of them and a resumed run must use the same values.
///
/// The mix is drawn row by row: a new customer with probability ``newShare``, an update of
/// 1–3 fields of a live customer with ``updateShare``, a delete of a live customer with
/// ``deleteShare`` (while nobody is live, every row is a new customer). A share of the updates
/// is delivered late (``lateFraction``).
public struct GeneratorConfiguration: Sendable, Hashable {
    /// The seed of the ``SplitMix64`` stream every draw comes from. Defaults to `1`.
    public var seed: UInt64 = 1
    /// The event time of the first row. Defaults to `2024-01-01 00:00:00` UTC
    /// (`firn generate` uses the current time unless told otherwise).
    public var startTime: Timestamp = GeneratorConfiguration.defaultStartTime
    /// Rows per second: event times advance by `1 / rate` seconds per row, and a paced
    /// ``GeneratedFileWriter`` writes a file every `rowsPerFile / rate` seconds.
    /// Defaults to `1000`. At most `1_000_000` (event times have microsecond precision and
    /// every row gets its own).
    public var rate: Double = 1000
    /// Rows in each file. Defaults to `1000`.
    public var rowsPerFile: Int = 1000
    /// Probability that a row creates a customer. Defaults to `0.25`.
    public var newShare: Double = 0.25
    /// Probability that a row updates 1–3 fields of a live customer. Defaults to `0.70`.
    public var updateShare: Double = 0.70
    /// Probability that a row deletes a live customer. Defaults to `0.05`.
    public var deleteShare: Double = 0.05
    /// The share of all rows that are late updates. Defaults to `0` (none); at most ``updateShare``.
    ///
    /// A late update is generated at its event time like any other change, so it is a
    /// genuine, coherent step in its customer's history, but it is delivered up to
    /// ``maxLateness`` later in the file stream, after rows with later event times (possibly
    /// after later changes of the same customer, which then find it splitting the version in
    /// force at its time, as DESIGN.md section 3 describes).
    public var lateFraction: Double = 0
    /// How far a late update may be delivered after its event time, in seconds of event time.
    /// Defaults to `60` (the median delay is an eighth of it, 7.5 s). The delay is also capped at `1_000_000` rows, which bounds the rows a
    /// generator holds back.
    public var maxLateness: Double = 60
    /// The file from which on files carry a column the customer entity does not have,
    /// `loyalty_tier` (``GeneratedFile/loyaltyTier(of:)``), so that loading them exercises
    /// schema evolution; `nil` (the default) for never. The rows are the same either way.
    public var evolveAtFile: Int?
    /// The share of updates written as partial images: only the fields the update changed,
    /// the others empty (NULL), as a source that sends only what changed would. Loaded under
    /// `null_updates: ignore`, the tables are those of the full images. Defaults to `0`. The
    /// rows are the same either way: which updates are partial is decided without drawing
    /// from the random stream.
    public var partialShare: Double = 0

    /// `2024-01-01 00:00:00` UTC.
    public static let defaultStartTime = Timestamp(year: 2024, month: 1, day: 1)!

    /// The largest ``rate``: one row per microsecond.
    public static let maximumRate: Double = 1_000_000

    /// The most rows a late update can be held back.
    public static let maximumDelayRows = 1_000_000

    /// Creates the default configuration (see each property for its default).
    public init() {}

    /// Creates a configuration with the given seed and start time, other properties at their defaults.
    ///
    /// - Parameters:
    ///   - seed: The seed.
    ///   - startTime: The first row's event time.
    public init(seed: UInt64, startTime: Timestamp = GeneratorConfiguration.defaultStartTime) {
        self.seed = seed
        self.startTime = startTime
    }

    /// Checks that the configuration can be used.
    ///
    /// - Throws: ``GenerateError/invalidConfiguration(_:)`` naming the setting and its allowed range.
    public func validate() throws(GenerateError) {
        guard rate > 0, rate <= Self.maximumRate, rate.isFinite else {
            throw .invalidConfiguration("rate \(rate) must be above 0 and at most 1000000 rows per second")
        }
        guard rowsPerFile > 0 else { throw .invalidConfiguration("rows per file must be positive, not \(rowsPerFile)") }
        for (name, share) in [("new", newShare), ("update", updateShare), ("delete", deleteShare)] {
            guard share >= 0, share <= 1 else {
                throw .invalidConfiguration("the \(name) share \(share) must be between 0 and 1")
            }
        }
        guard abs(newShare + updateShare + deleteShare - 1) < 1e-9 else {
            throw .invalidConfiguration(
                "the new, update and delete shares must add up to 1, not \(newShare + updateShare + deleteShare)"
            )
        }
        guard newShare > 0 else { throw .invalidConfiguration("the new share must be above 0 to create customers") }
        guard lateFraction >= 0, lateFraction <= updateShare else {
            throw .invalidConfiguration(
                "late fraction \(lateFraction) must be between 0 and the update share \(updateShare) "
                    + "(late records are updates)"
            )
        }
        guard maxLateness > 0, maxLateness.isFinite else {
            throw .invalidConfiguration("the maximum lateness must be a positive number of seconds, not \(maxLateness)")
        }
        guard partialShare >= 0, partialShare <= 1 else {
            throw .invalidConfiguration("the partial-image share \(partialShare) must be between 0 and 1")
        }
        if let evolveAtFile, evolveAtFile < 0 {
            throw .invalidConfiguration("the file that adds a column, \(evolveAtFile), must be 0 or more")
        }
        guard startTime >= Timestamp(year: 1970, month: 1, day: 1)!,
            startTime < Timestamp(year: 9000, month: 1, day: 1)!
        else {
            throw .invalidConfiguration("start time \(startTime) must be between 1970 and 9000")
        }
    }

    /// The seconds of event time one file spans, which is also a paced writer's interval.
    public var secondsPerFile: Double { Double(rowsPerFile) / rate }

    /// The settings in which `self` and `other` differ, as `name saved → requested` texts.
    func differences(from other: GeneratorConfiguration) -> [String] {
        var result: [String] = []
        func compare<T: Equatable>(_ name: String, _ mine: T, _ theirs: T) {
            if mine != theirs { result.append("\(name) \(mine) → \(theirs)") }
        }
        compare("seed", seed, other.seed)
        compare("start time", CustomerCSV.isoTime(startTime), CustomerCSV.isoTime(other.startTime))
        compare("rate", rate, other.rate)
        compare("rows per file", rowsPerFile, other.rowsPerFile)
        compare("new share", newShare, other.newShare)
        compare("update share", updateShare, other.updateShare)
        compare("delete share", deleteShare, other.deleteShare)
        compare("late fraction", lateFraction, other.lateFraction)
        compare("max lateness", maxLateness, other.maxLateness)
        compare("evolve at file", evolveAtFile.map(String.init) ?? "never", other.evolveAtFile.map(String.init) ?? "never")
        compare("partial share", partialShare, other.partialShare)
        return result
    }
}

extension GeneratorConfiguration: Codable {
    private enum CodingKeys: String, CodingKey {
        case seed, rate
        case startTime = "start_time"
        case rowsPerFile = "rows_per_file"
        case newShare = "new_share"
        case updateShare = "update_share"
        case deleteShare = "delete_share"
        case lateFraction = "late_fraction"
        case maxLateness = "max_lateness_seconds"
        case evolveAtFile = "evolve_at_file"
        case partialShare = "partial_share"
    }

    /// Decodes a configuration saved by ``encode(to:)``; the start time is ISO-8601 text.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let seedText = try container.decode(String.self, forKey: .seed)
        guard let seed = UInt64(seedText) else {
            throw DecodingError.dataCorruptedError(forKey: .seed, in: container, debugDescription: "not a UInt64")
        }
        let timeText = try container.decode(String.self, forKey: .startTime)
        guard let startTime = Timestamp(parsing: timeText) else {
            throw DecodingError.dataCorruptedError(forKey: .startTime, in: container, debugDescription: "not a time")
        }
        self.seed = seed
        self.startTime = startTime
        rate = try container.decode(Double.self, forKey: .rate)
        rowsPerFile = try container.decode(Int.self, forKey: .rowsPerFile)
        newShare = try container.decode(Double.self, forKey: .newShare)
        updateShare = try container.decode(Double.self, forKey: .updateShare)
        deleteShare = try container.decode(Double.self, forKey: .deleteShare)
        lateFraction = try container.decode(Double.self, forKey: .lateFraction)
        maxLateness = try container.decode(Double.self, forKey: .maxLateness)
        // Absent from states saved before the options.
        evolveAtFile = try container.decodeIfPresent(Int.self, forKey: .evolveAtFile)
        partialShare = try container.decodeIfPresent(Double.self, forKey: .partialShare) ?? 0
    }

    /// Encodes the configuration; the seed is text (JSON numbers lose 64-bit integers in some
    /// readers) and the start time ISO-8601 UTC with microseconds.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(seed), forKey: .seed)
        try container.encode(CustomerCSV.isoTime(startTime), forKey: .startTime)
        try container.encode(rate, forKey: .rate)
        try container.encode(rowsPerFile, forKey: .rowsPerFile)
        try container.encode(newShare, forKey: .newShare)
        try container.encode(updateShare, forKey: .updateShare)
        try container.encode(deleteShare, forKey: .deleteShare)
        try container.encode(lateFraction, forKey: .lateFraction)
        try container.encode(maxLateness, forKey: .maxLateness)
        try container.encodeIfPresent(evolveAtFile, forKey: .evolveAtFile)
        if partialShare != 0 { try container.encode(partialShare, forKey: .partialShare) }
    }
}

/// Why generating change files failed, with what to do about it.
public enum GenerateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A setting is out of range; the message names it and the allowed values.
    case invalidConfiguration(String)
    /// The saved state at `path` was made with other settings than this run's.
    case stateMismatch(path: String, differences: [String])
    /// The state file at `path` cannot be read or decoded.
    case unreadableState(path: String, reason: String)
    /// Reading or writing `path` failed.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            "invalid generator settings: \(message)"
        case .stateMismatch(let path, let differences):
            "\(path): the saved generator state was made with other settings (\(differences.joined(separator: ", "))); "
                + "run with the saved settings to continue, or start fresh (firn generate --fresh) to begin again "
                + "at file 0, replacing files of the same names"
        case .unreadableState(let path, let reason):
            "\(path): cannot read the generator state (\(reason)); fix or delete the file, "
                + "or start fresh (firn generate --fresh)"
        case .io(let path, let reason):
            "\(path): \(reason)"
        }
    }
}
