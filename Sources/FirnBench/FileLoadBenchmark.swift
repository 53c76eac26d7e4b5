import FirnCore
import FirnPipe
import FirnSQLiteWarehouse
import FirnWarehouse
import Foundation

extension LoadBenchmark {
    /// `firn bench load --files DIR`: the same measurement over CSV files already written
    /// (for instance by ``WorkloadFiles/write(to:seed:n:batches:size:)``), reader included.
    ///
    /// The files load in name order; the first is the base (timed apart), each other file is
    /// one batch. Firn loads each with ``FileLoader`` (read, stage, SCD1, SCD2, one load per
    /// file); the baseline reads the same file with ``RecordFileReader`` and applies it in one
    /// transaction. There is no generator here, so the tables are checked against each other
    /// (without the baseline, Firn's own digest stands as the expectation).
    ///
    /// - Parameter progress: Called with a line of text as phases start and end.
    /// - Throws: ``LoadBenchmarkError``.
    public func runFiles(
        in filesDirectory: String,
        progress: (String) -> Void = { _ in }
    ) async throws(LoadBenchmarkError) -> LoadBenchmarkReport {
        let files = try Self.csvFiles(in: filesDirectory)
        guard files.count >= 2 else {
            throw .directory(path: filesDirectory, reason: "needs a base file and at least one batch file (*.csv)")
        }
        let directory = try prepareWorkDirectory()
        progress("files: \(files.count - 1) batch files after \((files[0] as NSString).lastPathComponent)")
        let firnPath = directory + "/firn-files.sqlite"
        Self.removeDatabase(firnPath)
        ProcessProbe.resetPeak()
        var firnTiming = (base: 0.0, batches: [Double](), rows: 0)
        var configuration = warehouse
        configuration.isDurable = isDurable
        do throws(WarehouseError) {
            let loader = FileLoader(warehouse: try await SQLiteWarehouse.open(path: firnPath, configuration: configuration))
            for (index, file) in files.enumerated() {
                let start = ProcessProbe.nanoseconds()
                let report = try await loader.load(file)
                let seconds = Double(ProcessProbe.nanoseconds() - start) / 1e9
                guard report.status == .loaded else {
                    throw WarehouseError.statementFailed(sql: "", reason: "\(file): \(report.error ?? "not loaded")")
                }
                if index == 0 {
                    firnTiming.base = seconds
                } else {
                    firnTiming.batches.append(seconds)
                    firnTiming.rows += report.counts.staged + report.rejected
                }
            }
        } catch {
            throw .firn(error)
        }
        let firn = Self.result(
            base: firnTiming.base,
            batches: firnTiming.batches,
            rows: firnTiming.rows,
            peak: ProcessProbe.peakResidentBytes(),
            digests: try Self.digests(path: firnPath),
            bytes: Self.fileSize(firnPath)
        )
        var sql: LoadBenchmarkReport.EngineResult?
        if includeBaseline {
            progress("files: plain SQL baseline")
            sql = try baselineOverFiles(files, path: directory + "/sql-files.sqlite")
        }
        if !keepsDatabases {
            Self.removeDatabase(firnPath)
            Self.removeDatabase(directory + "/sql-files.sqlite")
        }
        let batches = files.count - 1
        var result = LoadBenchmarkReport.SizeResult(
            batchSize: firnTiming.rows / max(1, batches),
            batches: batches,
            firn: firn,
            sql: sql,
            expectedCurrent: sql?.current ?? firn.current
        )
        result.changeRows = firnTiming.rows
        var report = LoadBenchmarkReport(
            n: 0,
            seed: seed,
            isDurable: isDurable,
            engine: "sqlite \(Self.sqliteVersion())",
            sizes: [result]
        )
        report.files = filesDirectory
        return report
    }

    private func baselineOverFiles(
        _ files: [String],
        path: String
    ) throws(LoadBenchmarkError) -> LoadBenchmarkReport.EngineResult {
        Self.removeDatabase(path)
        ProcessProbe.resetPeak()
        var base = 0.0
        var batches: [Double] = []
        var rows = 0
        do {
            let baseline = try PlainSQLBaseline(path: path, isDurable: isDurable, like: warehouse)
            for (index, file) in files.enumerated() {
                let start = ProcessProbe.nanoseconds()
                var reader = try RecordFileReader(
                    path: file,
                    entity: .customer,
                    load: Int64(index),
                    defaultEventTime: .now()
                )
                var records: [ChangeRecord] = []
                while let chunk = try reader.nextChunk() { records += chunk.records }
                try baseline.applyNow(
                    batchID: Int64(index),
                    records: records,
                    sourceFile: (file as NSString).lastPathComponent
                )
                let seconds = Double(ProcessProbe.nanoseconds() - start) / 1e9
                if index == 0 {
                    base = seconds
                } else {
                    batches.append(seconds)
                    rows += records.count
                }
            }
        } catch {
            throw .baseline("\(error)")
        }
        return Self.result(
            base: base,
            batches: batches,
            rows: rows,
            peak: ProcessProbe.peakResidentBytes(),
            digests: try Self.digests(path: path),
            bytes: Self.fileSize(path)
        )
    }

    static func csvFiles(in directory: String) throws(LoadBenchmarkError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.lowercased().hasSuffix(".csv") }
                .sorted()
                .map { (directory as NSString).appendingPathComponent($0) }
        } catch {
            throw .directory(path: directory, reason: "\(error)")
        }
    }
}
