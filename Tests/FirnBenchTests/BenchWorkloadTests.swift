import FirnCore
import Foundation
import Testing

@testable import FirnBench

@Suite struct BenchWorkloadTests {
    @Test func sameSeedGivesSameRecords() {
        var first = BenchWorkload(seed: 7)
        var second = BenchWorkload(seed: 7)
        #expect(first.base(300) == second.base(300))
        let lazy = Array(first.batches(3, size: 250))
        for batch in lazy { #expect(batch == second.nextBatch(size: 250)) }
        // `batches` iterates a copy: the original continues from the same place.
        #expect(first.nextBatch(size: 250) == lazy[0])
        #expect(first.currentTableDigest() != second.currentTableDigest())
        var again = BenchWorkload(seed: 7)
        _ = again.base(300)
        var otherSeed = BenchWorkload(seed: 8)
        _ = otherSeed.base(300)
        #expect(again.nextBatch(size: 250) != otherSeed.nextBatch(size: 250))
    }

    @Test func mixProportionsAreRoughlyAsSpecified() {
        var workload = BenchWorkload(seed: 1)
        var state: [Key: [Value]] = [:]
        for record in workload.base(20_000) { state[record.key] = record.attributes }
        var total = 0
        var deletes = 0
        var inserts = 0
        var updates = 0
        var repeats = 0
        var previousTime = Timestamp(microseconds: 0)
        for _ in 0..<3 {
            let batch = workload.nextBatch(size: 10_000)
            var seen = Set<Key>()
            for record in batch {
                total += 1
                #expect(record.eventTime > previousTime, "event times increase, also inside a batch")
                previousTime = record.eventTime
                if !seen.insert(record.key).inserted { repeats += 1 }
                switch record.operation {
                case .delete:
                    deletes += 1
                    #expect(state.removeValue(forKey: record.key) != nil, "a delete ends a live customer")
                case .upsert:
                    if let old = state[record.key] {
                        updates += 1
                        let changed = zip(old, record.attributes).filter { $0 != $1 }.count
                        #expect((1...3).contains(changed), "an update changes 1 to 3 fields, not \(changed)")
                    } else {
                        inserts += 1
                    }
                    state[record.key] = record.attributes
                }
            }
        }
        func share(_ count: Int) -> Double { Double(count) / Double(total) }
        #expect((0.68...0.72).contains(share(updates)), "updates \(share(updates))")
        #expect((0.23...0.27).contains(share(inserts)), "new customers \(share(inserts))")
        #expect((0.04...0.06).contains(share(deletes)), "deletes \(share(deletes))")
        #expect((0.01...0.03).contains(share(repeats)), "repeated keys \(share(repeats))")
        #expect(state.count == workload.liveCount)
    }

    @Test func expectedTableFollowsTheRecords() {
        var workload = BenchWorkload(seed: 3)
        var rows: [Int64: [String?]] = [:]
        func apply(_ records: [ChangeRecord]) {
            for record in records {
                guard case .integer(let key) = record.key.values[0] else { continue }
                switch record.operation {
                case .delete: rows[key] = nil
                case .upsert:
                    rows[key] =
                        [String(key)] + record.attributes.map { $0.description } + [record.eventTime.description]
                }
            }
        }
        apply(workload.base(1_000))
        for _ in 0..<4 { apply(workload.nextBatch(size: 400)) }
        var digest = TableDigest()
        for key in rows.keys.sorted() { digest.add(rows[key]!) }
        #expect(digest == workload.currentTableDigest())
        #expect(workload.liveCount == rows.count)
    }

    @Test func filesAreQuotedCSVInLoadOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("firn-bench-csv-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try WorkloadFiles.write(to: directory, seed: 5, n: 200, batches: 2, size: 300)
        #expect(files.map(\.lastPathComponent) == ["000000-base.csv", "000001.csv", "000002.csv"])
        let base = try String(contentsOf: files[0], encoding: .utf8)
        let lines = base.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.first == WorkloadFiles.header.joined(separator: ","))
        #expect(lines.count == 201)
        #expect(lines.dropFirst().allSatisfy { $0.hasSuffix(",I") })
        #expect(lines.contains { $0.contains(", Apt ") && $0.contains("\"") }, "streets with a comma are quoted")
        let batch = try String(contentsOf: files[1], encoding: .utf8)
        #expect(batch.contains(",U\r\n") && batch.contains(",D\r\n") && batch.contains(",I\r\n"))
        #expect(batch.contains("T00:00:00.") || batch.contains("Z,"))
    }

    @Test func quotingFollowsRFC4180() {
        #expect(WorkloadFiles.quoted("plain") == "plain")
        #expect(WorkloadFiles.quoted("") == "\"\"")
        #expect(WorkloadFiles.quoted("12 Elm St, Apt 4") == "\"12 Elm St, Apt 4\"")
        #expect(WorkloadFiles.quoted("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(WorkloadFiles.quoted("two\nlines") == "\"two\nlines\"")
        #expect(WorkloadFiles.isoTime(BenchWorkload.startTime) == "2024-01-01T00:00:00.000000Z")
    }
}
