import FirnCore
import FirnWarehouse

// `--interleave`: Firn's and the baseline's batches in turn, so that a machine whose speed
// drifts (other work on the host, the server's checkpoints) slows both alike.
extension LoadBenchmark {
    /// Firn and the baseline on the same batches, batch by batch: each engine's batch `i` runs
    /// right after the other's (who goes first alternates), each timed on its own. The bases are
    /// loaded first, one engine after the other. Peak memory is the process's over both.
    func measureInterleaved(
        on storage: some BenchStorage,
        size: Int,
        batches: Int,
        progress: (String) -> Void
    ) async throws(LoadBenchmarkError) -> (
        firn: LoadBenchmarkReport.EngineResult, sql: LoadBenchmarkReport.EngineResult, expected: TableDigest
    ) {
        ProcessProbe.resetPeak()
        // One generator per engine with the same seed: the same batches, each engine's its own
        // array, so that neither pays for copying one the other still holds.
        var firnWorkload = BenchWorkload(seed: seed)
        var sqlWorkload = BenchWorkload(seed: seed)
        var firnBase = 0.0
        var sqlBase = 0.0
        var firnBatches: [Double] = []
        var sqlBatches: [Double] = []
        var phases = ApplyCounts()
        let opened = try await storage.openFirn(size: size)
        let baseline: any PlainSQLPort
        do {
            baseline = try await storage.openBaseline(size: size)
        } catch {
            await opened.close()
            throw error
        }
        func closeBoth() async {
            await opened.close()
            await baseline.close()
        }
        func firnBatch(
            _ records: consuming [ChangeRecord],
            name: String,
            isBase: Bool = false
        ) async throws(LoadBenchmarkError) -> Double {
            let start = ProcessProbe.nanoseconds()
            do {
                let counts = try await load(records, into: opened.warehouse, name: name)
                if !isBase { phases += counts }
            } catch {
                throw .firn(error)
            }
            return Double(ProcessProbe.nanoseconds() - start) / 1e9
        }
        func sqlBatch(_ records: [ChangeRecord], id: Int64, name: String) async throws(LoadBenchmarkError) -> Double {
            let start = ProcessProbe.nanoseconds()
            do {
                try await baseline.apply(batchID: id, records: records, sourceFile: name)
            } catch {
                throw .baseline(PostgresBenchStorage.reason(error))
            }
            return Double(ProcessProbe.nanoseconds() - start) / 1e9
        }
        do throws(LoadBenchmarkError) {
            firnBase = try await firnBatch(firnWorkload.base(n), name: "bench-B\(size)-base", isBase: true)
            sqlBase = try await sqlBatch(sqlWorkload.base(n), id: 0, name: "bench-B\(size)-base.csv")
            try await storage.analyze(.firn, size: size)
            try await storage.analyze(.sql, size: size)
            for batch in 1...batches {
                var forFirn: [ChangeRecord]? = firnWorkload.nextBatch(size: size)
                let forSQL = sqlWorkload.nextBatch(size: size)
                let name = "bench-B\(size)-\(batch)"
                if batch % 2 == 1 {
                    firnBatches.append(try await firnBatch(forFirn.take()!, name: name))
                    sqlBatches.append(try await sqlBatch(forSQL, id: Int64(batch), name: name))
                } else {
                    sqlBatches.append(try await sqlBatch(forSQL, id: Int64(batch), name: name))
                    firnBatches.append(try await firnBatch(forFirn.take()!, name: name))
                }
                if batch % max(1, batches / 5) == 0 { progress("  batch \(batch)/\(batches), both engines") }
            }
        } catch {
            await closeBoth()
            throw error
        }
        await closeBoth()
        let peak = ProcessProbe.peakResidentBytes()
        let (firnDigests, firnBytes) = try await storage.finish(.firn, size: size)
        let (sqlDigests, sqlBytes) = try await storage.finish(.sql, size: size)
        var firn = Self.result(
            base: firnBase,
            batches: firnBatches,
            rows: size * batches,
            peak: peak,
            digests: firnDigests,
            bytes: firnBytes
        )
        firn.phases = LoadBenchmarkReport.Phases(phases, total: firnBatches.reduce(0, +))
        let sql = Self.result(
            base: sqlBase,
            batches: sqlBatches,
            rows: size * batches,
            peak: peak,
            digests: sqlDigests,
            bytes: sqlBytes
        )
        return (firn, sql, firnWorkload.currentTableDigest())
    }
}
