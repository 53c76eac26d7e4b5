/// The range a numeric setting may take, and the check every flag and config key goes through.
///
/// Values outside these ranges would make no sense or would overflow later (a count that
/// becomes a negative range, seconds that overflow a `Duration`), so they are refused up front
/// with one line naming the option and its range. The ranges live in ``NumericBounds``.
public struct NumericBound<Value: Comparable & Sendable>: Sendable {
    /// The values allowed, bounds included.
    public let range: ClosedRange<Value>
    /// What the value counts, for messages: `rows`, `seconds`… (empty for a plain number).
    public let unit: String

    /// Creates a bound.
    public init(_ range: ClosedRange<Value>, _ unit: String = "") {
        self.range = range
        self.unit = unit
    }
}

extension NumericBound where Value: BinaryInteger {
    /// Returns `value` when it is in range.
    ///
    /// - Parameters:
    ///   - value: The value given.
    ///   - name: The option as the user wrote it: `--rows-per-file`, `reader.chunk_rows`.
    /// - Throws: ``OutOfRangeError`` naming the option and the range.
    @discardableResult
    public func check(_ value: Value, _ name: String) throws(OutOfRangeError) -> Value {
        guard range.contains(value) else {
            throw OutOfRangeError(
                name: name,
                value: "\(value)",
                range: "\(range.lowerBound) to \(range.upperBound)",
                unit: unit
            )
        }
        return value
    }
}

extension NumericBound where Value == Double {
    /// Returns `value` when it is in range; `nan` and infinities never are.
    ///
    /// - Parameters:
    ///   - value: The value given.
    ///   - name: The option as the user wrote it: `--rate`, `--status-interval`.
    /// - Throws: ``OutOfRangeError`` naming the option and the range.
    @discardableResult
    public func check(_ value: Double, _ name: String) throws(OutOfRangeError) -> Double {
        guard value.isFinite, range.contains(value) else {
            throw OutOfRangeError(
                name: name,
                value: Self.format(value),
                range: "\(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))",
                unit: unit
            )
        }
        return value
    }

    /// `1000000` rather than `1000000.0`; fractions as they are.
    static func format(_ value: Double) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// A numeric option out of its range: `--rows-per-file must be 1 to 1000000 rows, not 0`.
public struct OutOfRangeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The option as the user wrote it.
    public var name: String
    /// The value given, as text.
    public var value: String
    /// The range allowed, as text: `1 to 1000000`.
    public var range: String
    /// What the value counts (may be empty).
    public var unit: String

    public var description: String {
        "\(name) must be \(range)\(unit.isEmpty ? "" : " \(unit)"), not \(value)"
    }
}

/// The range of every numeric flag and config key, in one place.
///
/// Commands check their flags with these in `validate()`, the config file's keys are checked
/// with them as they are read, so a value means the same wherever it is given.
public enum NumericBounds {
    /// `reader.chunk_rows`: rows per transaction.
    public static let chunkRows = NumericBound(1...1_000_000, "rows")
    /// `reader.chunk_bytes`: file bytes per transaction (1 GiB at most).
    public static let chunkBytes = NumericBound(1...(1 << 30), "bytes")
    /// `reader.max_field_bytes`: the longest field (1 GiB).
    public static let maxFieldBytes = NumericBound(1...(1 << 30), "bytes")
    /// Retention `days`.
    public static let retentionDays = NumericBound(1...36_500, "days")
    /// A task's `retries`.
    public static let taskRetries = NumericBound(0...100, "retries")
    /// A task's `suspend_after_failures`.
    public static let suspendAfterFailures = NumericBound(1...10_000, "failed runs")
    /// `ingest.max_attempts`: uploads of one file before it goes to the failed folder.
    public static let ingestAttempts = NumericBound(1...100, "attempts")
    /// `ingest.max_files_in_flight`.
    public static let ingestFilesInFlight = NumericBound(1...64, "files")
    /// `ingest.max_bytes_in_flight` (64 GiB; a larger file still goes up, alone).
    public static let ingestBytesInFlight = NumericBound(1...(64 << 30), "bytes")
    /// `ingest.rescan_interval`.
    public static let rescanInterval = NumericBound(0.01...3_600, "seconds")
    /// `ingest.stability_interval` (0: take a file found by a rescan at once).
    public static let stabilityInterval = NumericBound<Double>(0...3_600, "seconds")
    /// Generated rows per second (`--rate`, `--generate`): microsecond event times allow a million.
    public static let generatorRate = NumericBound(0.01...1_000_000, "rows per second")
    /// Rows in each generated file (`--rows-per-file`).
    public static let rowsPerFile = NumericBound(1...1_000_000, "rows")
    /// Generated files in one run (`--files`).
    public static let generatedFiles = NumericBound(1...1_000_000, "files")
    /// How long `firn generate` runs (`--duration`): up to 366 days.
    public static let generatorDuration = NumericBound(0.001...31_622_400, "seconds")
    /// The share of late updates (`--late-fraction`); late records are updates, 70% of rows.
    public static let lateFraction = NumericBound(0...0.7)
    /// The share of updates written as partial images (`--partial-images`).
    public static let partialShare = NumericBound(0.0...1.0)
    /// The file from which generated files carry a new column (`--evolve-at-file`).
    public static let evolveAtFile = NumericBound(0...1_000_000_000)
    /// Seconds between status lines (`--status-interval`).
    public static let statusInterval = NumericBound(0.1...86_400, "seconds")
    /// `--full-listing-interval`: how often the pipe lists the whole bucket.
    public static let fullListingInterval = NumericBound<Double>(1...604_800, "seconds")
    /// Rows a listing shows (`--limit`).
    public static let listingLimit = NumericBound(1...1_000_000_000, "rows")
    /// `firn bench load --n`: base customers.
    public static let benchBaseRows = NumericBound(1...10_000_000, "rows")
    /// `firn bench load --rows`: change rows per batch size.
    public static let benchChangeRows = NumericBound(1...100_000_000, "rows")
    /// `firn bench load --batch-sizes`.
    public static let benchBatchSize = NumericBound(1...10_000_000, "rows")
    /// `firn bench load --workers`: Firn workers sharing the batches on one server.
    public static let benchWorkers = NumericBound(1...32, "workers")
    /// `firn bench load --page-size`, `sqlite.page_size`: SQLite's page sizes (a power of two,
    /// see ``checkPageSize(_:_:)``).
    public static let pageSize = NumericBound(512...65_536, "bytes")
    /// `firn bench load --checkpoint-pages` (0 turns automatic checkpoints off).
    public static let checkpointPages = NumericBound(0...10_000_000, "pages")
    /// `key_state_capacity` in the config and `firn bench load --key-state-capacity` (0 turns
    /// the writer's key memory off).
    public static let keyStateCapacity = NumericBound(0...10_000_000, "keys")
    /// `firn bench flow --seconds`.
    public static let benchSeconds = NumericBound(0.1...86_400, "seconds")
    /// `firn bench flow --runs`.
    public static let benchRuns = NumericBound(1...100, "runs")
}

extension NumericBounds {
    /// Returns `value` when it is one of SQLite's page sizes: a power of two in ``pageSize``.
    ///
    /// - Throws: ``OutOfRangeError`` naming the option.
    @discardableResult
    public static func checkPageSize(_ value: Int, _ name: String) throws(OutOfRangeError) -> Int {
        guard pageSize.range.contains(value), value & (value - 1) == 0 else {
            throw OutOfRangeError(
                name: name,
                value: "\(value)",
                range: "a power of two from \(pageSize.range.lowerBound) to \(pageSize.range.upperBound)",
                unit: ""
            )
        }
        return value
    }
}
