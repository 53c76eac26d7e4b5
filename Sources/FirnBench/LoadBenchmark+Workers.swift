import FirnCore
import FirnWarehouse
import NIOConcurrencyHelpers

// `firn bench load --warehouse … --workers K`: the same batches shared by K Firn workers on one
// PostgreSQL server, each with a warehouse of its own (its own connection pool and remembered
// key states, as separate processes would have), taking the next batch as soon as it has
// applied one. Batches may then commit out of generation order: a later batch's records can
// reach a key before an earlier batch's, which are then late and replayed (the figures say how
// many keys that was). Event times are distinct, so the tables must still equal the
// generator's SCD1 and a single worker's history.
extension LoadBenchmark {
    /// Runs the workload of batch size `size` with each worker count in ``workerCounts``,
    /// on fresh schemas of `storage`.
    ///
    /// - Parameter history: The single-worker history digest the runs must reproduce.
    func measureWorkers(
        on storage: PostgresBenchStorage,
        size: Int,
        batches: Int,
        expected: TableDigest,
        history: TableDigest,
        progress: (String) -> Void
    ) async throws(LoadBenchmarkError) -> [LoadBenchmarkReport.WorkersResult] {
        var workload = BenchWorkload(seed: seed)
        let base = workload.base(n)
        let work = (1...batches).map { _ in workload.nextBatch(size: size) }
        var results: [LoadBenchmarkReport.WorkersResult] = []
        for count in workerCounts {
            progress("B=\(size): firn with \(count) worker\(count == 1 ? "" : "s") sharing \(batches) batches")
            ProcessProbe.resetPeak()
            let opened = try await storage.openFirnWorkers(size: size, count: count)
            let measured: Measured
            do throws(LoadBenchmarkError) {
                do throws(WarehouseError) {
                    try await load(base, into: opened[0].warehouse, name: "bench-B\(size)-base")
                } catch {
                    throw .firn(error)
                }
                try await storage.analyze(.firn, size: size)
                do throws(WarehouseError) {
                    measured = try await share(work, among: opened.map(\.warehouse), size: size)
                } catch {
                    throw .firn(error)
                }
            } catch {
                for worker in opened { await worker.close() }
                throw error
            }
            for worker in opened { await worker.close() }
            let peak = ProcessProbe.peakResidentBytes()
            let (digests, _) = try await storage.finish(.firn, size: size)
            let milliseconds = measured.latencies.map { $0 * 1000 }
            results.append(
                LoadBenchmarkReport.WorkersResult(
                    workers: count,
                    seconds: measured.seconds,
                    rowsPerSecond: measured.seconds > 0 ? Double(size * batches) / measured.seconds : 0,
                    p50Milliseconds: milliseconds.percentile(0.5),
                    p99Milliseconds: milliseconds.percentile(0.99),
                    peakResidentBytes: peak,
                    replayedKeys: measured.replayedKeys,
                    matchesExpected: digests.current == expected,
                    historyMatchesOneWorker: digests.history == history
                )
            )
        }
        return results
    }

    private struct Measured {
        var seconds: Double
        var latencies: [Double]
        var replayedKeys: Int
    }

    /// Applies `work` with every warehouse taking the next batch when it is free; wall time
    /// from the first batch's start to the last one's commit.
    private func share(
        _ work: [[ChangeRecord]],
        among warehouses: [any Warehouse],
        size: Int
    ) async throws(WarehouseError) -> Measured {
        let next = NIOLockedValueBox(0)
        let start = ProcessProbe.nanoseconds()
        do {
            return try await withThrowingTaskGroup(of: Measured.self) { group in
                for warehouse in warehouses {
                    group.addTask {
                        var mine = Measured(seconds: 0, latencies: [], replayedKeys: 0)
                        while true {
                            let index = next.withLockedValue { value in
                                defer { value += 1 }
                                return value
                            }
                            guard index < work.count else { return mine }
                            let began = ProcessProbe.nanoseconds()
                            let counts = try await load(work[index], into: warehouse, name: "bench-B\(size)-\(index + 1)")
                            mine.latencies.append(Double(ProcessProbe.nanoseconds() - began) / 1e9)
                            mine.replayedKeys += counts.recomputedKeys
                        }
                    }
                }
                var total = Measured(seconds: 0, latencies: [], replayedKeys: 0)
                for try await part in group {
                    total.latencies += part.latencies
                    total.replayedKeys += part.replayedKeys
                }
                total.seconds = Double(ProcessProbe.nanoseconds() - start) / 1e9
                return total
            }
        } catch let error as WarehouseError {
            throw error
        } catch {
            throw WarehouseError.statementFailed(sql: "", reason: "\(error)")
        }
    }
}
