import FirnCore

/// Deterministic synthetic customer changes, file by file: file `k` is a pure function of the
/// ``GeneratorConfiguration`` and `k`.
///
/// The generator is a value with no I/O. It keeps every customer it created (about 28 bytes
/// each) and produces files in order with ``nextFile()``; ``init(configuration:resumingAt:)``
/// rebuilds the state at file `k` by drawing files `0..<k` without spelling them out, which is
/// how a restarted `firn generate` continues without repeating a customer id or changing a
/// file it wrote before.
///
/// The rows, and what the SCD contract (DESIGN.md section 3) makes of them:
/// - Events happen on a simulated clock: event `e` is at `startTime + e / rate` (microsecond
///   precision, strictly increasing), so every row has its own event time, also between rows
///   of one customer.
/// - A new customer (`op` `I`) gets the next id (`1, 2, 3, …`; ids are never reused) and
///   values drawn from ``WordLists``.
/// - An update (`op` `U`) picks a live customer uniformly and changes 1–3 of its fields, each to
///   a value different from the one it had just before (in event-time order); it is a full
///   snapshot (all attributes).
/// - A delete (`op` `D`) ends a live customer and carries its last snapshot, as CDC tools write
///   it. A deleted customer never changes again and its id is not reused.
/// - A late update (``GeneratorConfiguration/lateFraction``) is an update like any other,
///   applied to the customer's state at its event time, but held back and delivered after a
///   random number of later events (up to ``GeneratorConfiguration/maxLateness`` of event
///   time, mostly much less: the delay is the maximum times `u³` for a uniform `u`, so its
///   median is an eighth of the maximum), and never before a row with a later event time has
///   been delivered, so it is always older than a row before it. If its customer changed
///   again meanwhile, the late
///   row splits the version in force at its time and leaves the SCD1 row alone; if its
///   customer was deleted meanwhile, it arrives after the delete but belongs before it.
///
/// So replaying the rows in event-time order gives a coherent life for every customer (created,
/// changed, perhaps deleted), and the SCD1 table after loading files `0..<k` is the state of the
/// customers as of their delivered rows. Rows still held back when a run stops are simply in a
/// later file (until they arrive, a later update of their customer may even equal the version
/// before the missing one, and so change nothing).
///
/// ## Topics
/// - ``nextFile()``
/// - ``skipFile()``
/// - ``GeneratedFile``
/// - ``GeneratedChange``
public struct ChangeGenerator: Sendable {
    /// The configuration the rows follow.
    public let configuration: GeneratorConfiguration
    /// The index of the file ``nextFile()`` produces next (0 for a new generator).
    public private(set) var nextFileIndex = 0

    private var random: SplitMix64
    /// Per id (index = id - 1): the customer's current values.
    private var customers: [CustomerProfile] = []
    /// The ids alive now.
    private var live = LiveCustomers()
    /// Events drawn so far; the next event is number `events`.
    private var events: Int64 = 0
    /// The event time of the newest row delivered so far, in microseconds since the epoch.
    private var newestDelivered = Int64.min
    /// The event time of the latest event, in microseconds since the epoch.
    private var lastEventMicroseconds: Int64
    /// Late updates waiting to be delivered.
    private var heldBack = HeldBackRows()
    private let lateProbability: Double
    private let maxDelayEvents: Int

    /// Creates a generator at file 0.
    ///
    /// - Parameter configuration: The settings; see ``GeneratorConfiguration``.
    /// - Throws: ``GenerateError/invalidConfiguration(_:)`` when a setting is out of range.
    public init(configuration: GeneratorConfiguration) throws(GenerateError) {
        try configuration.validate()
        self.configuration = configuration
        random = SplitMix64(seed: configuration.seed)
        lastEventMicroseconds = configuration.startTime.microseconds - 1
        lateProbability = configuration.updateShare > 0 ? configuration.lateFraction / configuration.updateShare : 0
        let delay = (configuration.maxLateness * configuration.rate).rounded(.down)
        maxDelayEvents = Int(min(max(delay, 1), Double(GeneratorConfiguration.maximumDelayRows)))
    }

    /// Creates a generator at file `fileIndex`, in the state it has after files `0..<fileIndex`.
    ///
    /// The earlier files are drawn but not spelled out (no text, no CSV), at millions of rows
    /// per second; the time taken grows with `fileIndex × rowsPerFile`.
    ///
    /// - Parameters:
    ///   - configuration: The settings the earlier files were made with.
    ///   - fileIndex: The file to continue with.
    /// - Throws: ``GenerateError/invalidConfiguration(_:)`` when a setting is out of range or
    ///   `fileIndex` is negative.
    public init(configuration: GeneratorConfiguration, resumingAt fileIndex: Int) throws(GenerateError) {
        guard fileIndex >= 0 else { throw .invalidConfiguration("file index \(fileIndex) must not be negative") }
        try self.init(configuration: configuration)
        for _ in 0..<fileIndex { skipFile() }
    }

    /// The number of customers alive now, counting changes not yet delivered.
    public var liveCount: Int { live.count }

    /// The largest customer id created so far (ids are `1...maxCustomerID`).
    public var maxCustomerID: Int64 { Int64(customers.count) }

    /// Produces the next file's rows and advances to the file after it.
    ///
    /// - Returns: File ``nextFileIndex`` (before the call): ``GeneratorConfiguration/rowsPerFile`` rows.
    public mutating func nextFile() -> GeneratedFile {
        var changes: [GeneratedChange] = []
        changes.reserveCapacity(configuration.rowsPerFile)
        for _ in 0..<configuration.rowsPerFile { changes.append(nextRow()) }
        defer { nextFileIndex += 1 }
        return GeneratedFile(index: nextFileIndex, changes: changes)
    }

    /// Advances past the next file without keeping its rows (what resuming does).
    public mutating func skipFile() {
        for _ in 0..<configuration.rowsPerFile { _ = nextRow() }
        nextFileIndex += 1
    }

    // MARK: Rows

    /// The next row to deliver: a held-back late update that is due, else a new event.
    private mutating func nextRow() -> GeneratedChange {
        while true {
            if let due = heldBack.first, due.dueAfterEvents <= events,
                due.change.eventTime.microseconds < newestDelivered
            {
                heldBack.removeFirst()
                return due.change
            }
            var change = nextEvent()
            if change.kind == .update, lateProbability > 0, random.unit() < lateProbability {
                change.isLate = true
                // Skewed towards short delays (u³: median an eighth of the maximum, mean a
                // quarter), as late data mostly is, so a run reaches its late fraction quickly.
                let u = random.unit()
                let delay = 1 + Int((Double(maxDelayEvents - 1) * u * u * u).rounded(.down))
                heldBack.insert(
                    HeldBackRows.Entry(
                        dueAfterEvents: events + Int64(delay),
                        sequence: events,
                        change: change
                    )
                )
                continue
            }
            newestDelivered = change.eventTime.microseconds
            return change
        }
    }

    /// Draws the next event on the simulated clock and applies it to the customers.
    private mutating func nextEvent() -> GeneratedChange {
        let time = nextEventTime()
        let draw = random.unit()
        if live.isEmpty || draw < configuration.newShare {
            let profile = CustomerProfile.random(using: &random)
            customers.append(profile)
            let id = live.insertNext()
            return GeneratedChange(customerID: id, profile: profile, eventTime: time, kind: .new)
        }
        let id = live.randomID(using: &random)
        let index = Int(id - 1)
        if draw < configuration.newShare + configuration.updateShare {
            let changed = customers[index].changedFields(using: &random)
            var change = GeneratedChange(customerID: id, profile: customers[index], eventTime: time, kind: .update)
            change.changedFields = changed
            return change
        }
        live.remove(id)
        return GeneratedChange(customerID: id, profile: customers[index], eventTime: time, kind: .delete)
    }

    /// `startTime + events / rate`, at least a microsecond after the previous event.
    private mutating func nextEventTime() -> Timestamp {
        let offset = Int64((Double(events) * 1_000_000 / configuration.rate).rounded(.down))
        let micros = max(configuration.startTime.microseconds + offset, lastEventMicroseconds + 1)
        lastEventMicroseconds = micros
        events += 1
        return Timestamp(microseconds: micros)
    }
}

/// Late updates waiting for delivery, ordered by when they are due (a binary min-heap).
struct HeldBackRows: Sendable {
    struct Entry: Sendable {
        /// Deliverable once this many events have been drawn.
        var dueAfterEvents: Int64
        /// The event's number: breaks ties, so the order never depends on the heap's layout.
        var sequence: Int64
        var change: GeneratedChange

        func precedes(_ other: Entry) -> Bool {
            (dueAfterEvents, sequence) < (other.dueAfterEvents, other.sequence)
        }
    }

    private var heap: [Entry] = []

    var first: Entry? { heap.first }

    mutating func insert(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count, heap[right].precedes(heap[smallest]) { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
