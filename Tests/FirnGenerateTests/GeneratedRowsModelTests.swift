import FirnCore
import FirnGenerate
import FirnTestSupport
import Foundation
import Testing

/// Replays generated rows in a model of the customers and checks the generator's promises:
/// the mix, 1–3 changed fields per update, changes only of live customers, late rows.
@Suite struct GeneratedRowsModelTests {
    /// 50 files of 1000 rows at 1000 rows/s (one millisecond per event), late rows up to 2 s.
    static let rows: [GeneratedChange] = {
        var configuration = GeneratorConfiguration(seed: 11, startTime: Timestamp(year: 2026, month: 3, day: 1)!)
        configuration.lateFraction = 0.1
        configuration.maxLateness = 2
        var generator = try! ChangeGenerator(configuration: configuration)
        return (0..<50).flatMap { _ in generator.nextFile().changes }
    }()

    @Test func mixIsWithinTolerance() {
        var counts = GeneratedCounts(Self.rows)
        #expect(counts.rows == 50_000)
        func share(_ count: Int) -> Double { Double(count) / Double(counts.rows) }
        #expect((0.24...0.26).contains(share(counts.new)), "new \(share(counts.new))")
        #expect((0.69...0.71).contains(share(counts.updates)), "updates \(share(counts.updates))")
        #expect((0.045...0.055).contains(share(counts.deletes)), "deletes \(share(counts.deletes))")
        #expect((0.09...0.11).contains(share(counts.late)), "late \(share(counts.late))")
        counts = GeneratedCounts()
        #expect(counts.description == "0 rows (new 0, updates 0, deletes 0, late 0)")
    }

    /// In event-time order (the order things happened), every customer has a coherent life.
    @Test func replayInEventTimeOrderGivesCoherentCustomers() {
        let times = Self.rows.map(\.eventTime.microseconds)
        #expect(Set(times).count == times.count, "every row has its own event time")
        // Rows more than the maximum lateness before the last one are all delivered: their
        // events form an unbroken millisecond sequence, so nothing was lost or doubled.
        let cutoff = times.max()! - 2_500_000
        let settled = Self.rows.filter { $0.eventTime.microseconds < cutoff }.sorted { $0.eventTime < $1.eventTime }
        let start = Timestamp(year: 2026, month: 3, day: 1)!.microseconds
        #expect(settled.map(\.eventTime.microseconds) == (0..<settled.count).map { start + Int64($0) * 1000 })

        var current: [Int64: [String]] = [:]
        var deleted = Set<Int64>()
        var maxID: Int64 = 0
        for row in settled {
            let attributes = row.profile.attributes
            switch row.kind {
            case .new:
                #expect(row.customerID == maxID + 1, "ids are handed out in order")
                maxID = row.customerID
                current[row.customerID] = attributes
            case .update:
                guard let before = current[row.customerID] else {
                    Issue.record("update of customer \(row.customerID), which is not live")
                    continue
                }
                let changed = zip(before, attributes).filter { $0 != $1 }.count
                #expect((1...3).contains(changed), "an update changes 1 to 3 fields, not \(changed)")
                current[row.customerID] = attributes
            case .delete:
                #expect(current[row.customerID] == attributes, "a delete carries the last snapshot")
                #expect(current.removeValue(forKey: row.customerID) != nil, "delete of a customer not live")
                deleted.insert(row.customerID)
            }
        }
        #expect(deleted.count > 1000 && current.count > 5000)
    }

    /// In delivery order, on-time rows have increasing event times and late rows are older than
    /// a row delivered before them, by at most the maximum lateness.
    @Test func lateRowsAreGenuinelyOlderThanEarlierRows() {
        var newest = Int64.min
        var lastSeen: [Int64: Int64] = [:]
        var splitting = 0
        for row in Self.rows {
            let time = row.eventTime.microseconds
            if row.isLate {
                #expect(row.kind == .update)
                #expect(time < newest, "a late row is older than a row before it")
                #expect(newest - time <= 2_100_000, "late by \(newest - time) µs, more than 2 s")
                if let seen = lastSeen[row.customerID], seen > time { splitting += 1 }
            } else {
                #expect(time > newest, "on-time rows come in event-time order")
                newest = time
            }
            lastSeen[row.customerID] = max(lastSeen[row.customerID] ?? .min, time)
        }
        // Some late rows arrive after a later change of their own customer: they split history.
        #expect(splitting > 0)
    }

    /// The SCD reference model over the delivered rows keeps one open version per live
    /// customer, and a late row that arrived after a later change leaves SCD1 alone.
    @Test func referenceModelAgreesWithReplay() {
        let records = Self.rows.enumerated().map { $1.record(arrival: Arrival(load: 1, row: Int64($0 + 1))) }
        let current = ReferenceModel.current(records)
        var latest: [Int64: GeneratedChange] = [:]
        for row in Self.rows where latest[row.customerID].map({ $0.eventTime < row.eventTime }) ?? true {
            latest[row.customerID] = row
        }
        let live = latest.values.filter { $0.kind != .delete }
        #expect(current.count == live.count)
        for version in current {
            guard case .integer(let id) = version.key.values[0], let row = latest[id] else {
                Issue.record("unexpected key \(version.key)")
                continue
            }
            #expect(version.start == row.eventTime)
            #expect(version.attributes == row.profile.attributes.map { .text($0) })
        }
    }
}
