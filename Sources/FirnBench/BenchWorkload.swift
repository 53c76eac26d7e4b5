import FirnCore
import FirnGenerate

/// A deterministic synthetic customer workload: a base population, then batches of changes.
///
/// The same seed gives the same records on every machine (``SplitMix64``). Each batch row is,
/// in expectation:
/// - 2%: an update of a customer already changed earlier in the same batch (a key repeated
///   inside a batch, at a later event time);
/// - 68%: an update of 1–3 fields of a live customer not yet touched in the batch;
/// - 25%: a new customer;
/// - 5%: a delete of a live customer not yet touched in the batch.
///
/// So 70% of rows are updates, and every update really changes something (a field always
/// gets a different value), which keeps the expected history exact. Event times increase by
/// one millisecond per row across the base and all batches (an in-order workload with
/// distinct times, also inside a batch). Records come with `Arrival(load: 0, row: n)`,
/// `n` counting from 1 in each batch; the loader sets the load id.
///
/// The state is about 24 bytes per customer ever created, and batches are produced one at a
/// time, so a run's memory is one batch of records plus that.
public struct BenchWorkload: Sendable {
    /// The seed the workload was created with.
    public let seed: UInt64
    /// Probability that a row repeats a key already changed in its batch. Defaults to `0.02`.
    public static let repeatShare = 0.02
    /// Probability that a row updates a customer (repeats included). Defaults to `0.70`.
    public static let updateShare = 0.70
    /// Probability that a row creates a customer. Defaults to `0.25`.
    public static let newShare = 0.25
    /// The first event time: `2024-01-01 00:00:00` UTC.
    public static let startTime = Timestamp(year: 2024, month: 1, day: 1)!
    /// The event-time step between consecutive rows: one millisecond.
    public static let timeStepMicroseconds: Int64 = 1000

    private var random: SplitMix64
    /// Per key (index = key - 1): the customer's current values, as word indexes.
    private var customers: [CustomerProfile] = []
    /// Per key: the event time of its latest change, in microseconds.
    private var lastChange: [Int64] = []
    /// The keys alive now.
    private var live = LiveCustomers()
    /// Per key: the number of the batch that last touched it.
    private var touchedIn: [Int32] = []
    private var batchNumber: Int32 = 0
    private var nextMicroseconds: Int64

    /// Creates a workload; nothing is generated until ``base(_:)`` or ``nextBatch(size:)``.
    public init(seed: UInt64) {
        self.seed = seed
        self.random = SplitMix64(seed: seed)
        self.nextMicroseconds = Self.startTime.microseconds
    }

    /// The number of customers alive now (the expected SCD1 row count).
    public var liveCount: Int { live.count }

    /// The largest key created so far (keys are `1...maxKey`).
    public var maxKey: Int64 { Int64(customers.count) }

    /// `count` new customers, keys continuing from ``maxKey`` (the first call makes `1...count`).
    public mutating func base(_ count: Int) -> [ChangeRecord] {
        batchNumber += 1
        var records: [ChangeRecord] = []
        records.reserveCapacity(count)
        for row in 0..<count { records.append(newCustomer(row: Int64(row + 1))) }
        return records
    }

    /// The next batch of `size` change rows (see the type's discussion for the mix).
    public mutating func nextBatch(size: Int) -> [ChangeRecord] {
        batchNumber += 1
        var records: [ChangeRecord] = []
        records.reserveCapacity(size)
        var touchedLive: [Int64] = []
        for index in 0..<size {
            let row = Int64(index + 1)
            let draw = random.unit()
            if draw < Self.repeatShare, !touchedLive.isEmpty {
                records.append(update(touchedLive[random.below(touchedLive.count)], row: row))
            } else if draw < Self.updateShare, let key = untouchedLiveKey() {
                records.append(update(key, row: row))
                touchedLive.append(key)
            } else if draw >= Self.updateShare + Self.newShare, let key = untouchedLiveKey() {
                records.append(delete(key, row: row))
            } else {
                let record = newCustomer(row: row)
                records.append(record)
                touchedLive.append(maxKey)
            }
        }
        return records
    }

    /// `count` batches of `size` rows continuing from this workload's state, generated one at a
    /// time as the sequence is iterated; iterating does not advance this value (it is a copy).
    public func batches(_ count: Int, size: Int) -> BenchBatches {
        BenchBatches(workload: self, remaining: count, size: size)
    }

    /// The expected SCD1 table now: each live customer's key, attributes and the event time of
    /// its latest change, in key order, digested as ``TableDigest`` digests a table.
    public func currentTableDigest() -> TableDigest {
        var digest = TableDigest()
        for index in customers.indices where live.contains(Int64(index + 1)) {
            var fields: [String?] = [String(index + 1)]
            fields.append(contentsOf: customers[index].attributes.map { $0 })
            fields.append(Timestamp(microseconds: lastChange[index]).description)
            digest.add(fields)
        }
        return digest
    }

    // MARK: Rows

    private mutating func nextTime() -> Timestamp {
        defer { nextMicroseconds += Self.timeStepMicroseconds }
        return Timestamp(microseconds: nextMicroseconds)
    }

    private mutating func newCustomer(row: Int64) -> ChangeRecord {
        let customer = CustomerProfile.random(using: &random)
        let key = Int64(customers.count + 1)
        let time = nextTime()
        customers.append(customer)
        lastChange.append(time.microseconds)
        touchedIn.append(batchNumber)
        live.insertNext()
        return record(key, customer, time: time, operation: .upsert, row: row)
    }

    private mutating func update(_ key: Int64, row: Int64) -> ChangeRecord {
        let index = Int(key - 1)
        customers[index].changeFields(using: &random)
        let time = nextTime()
        lastChange[index] = time.microseconds
        let customer = customers[index]
        touchedIn[index] = batchNumber
        return record(key, customer, time: time, operation: .upsert, row: row)
    }

    private mutating func delete(_ key: Int64, row: Int64) -> ChangeRecord {
        let index = Int(key - 1)
        live.remove(key)
        touchedIn[index] = batchNumber
        // A delete carries the customer's last image, as CDC tools write it.
        return record(key, customers[index], time: nextTime(), operation: .delete, row: row)
    }

    /// A live key not yet touched in this batch, or `nil` when a few draws find none.
    private mutating func untouchedLiveKey() -> Int64? {
        guard !live.isEmpty else { return nil }
        for _ in 0..<64 {
            let key = live.randomID(using: &random)
            if touchedIn[Int(key - 1)] != batchNumber { return key }
        }
        return nil
    }

    private func record(
        _ key: Int64,
        _ customer: CustomerProfile,
        time: Timestamp,
        operation: Operation,
        row: Int64
    ) -> ChangeRecord {
        ChangeRecord(
            key: Key(key),
            eventTime: time,
            operation: operation,
            attributes: customer.attributes.map { .text($0) },
            arrival: Arrival(load: 0, row: row)
        )
    }
}

/// Batches of a ``BenchWorkload``, generated lazily: see ``BenchWorkload/batches(_:size:)``.
public struct BenchBatches: Sequence, IteratorProtocol, Sendable {
    var workload: BenchWorkload
    var remaining: Int
    let size: Int

    /// The next batch, or `nil` after the requested number.
    public mutating func next() -> [ChangeRecord]? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        return workload.nextBatch(size: size)
    }
}
