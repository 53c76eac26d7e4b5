import FirnCore
import FirnMetrics
import FirnObjectStore
import FirnWarehouse
import Foundation

/// Loading the objects the pipe took: by entity, in one transaction per entity's group where
/// they fit, then recorded as taken.
extension AutoIngestPipe {
    /// ``take(_:)`` once the objects' claims are held: each entity's objects load together, in
    /// the order given; objects no route matches are recorded as failed.
    func takeClaimed(_ objects: [ObjectInfo]) async -> PollOutcome {
        var outcome = PollOutcome()
        let started = ContinuousClock.now
        // The objects to load, as local files (the bucket's own, or downloads), by entity.
        var groups: [(entity: Int, objects: [ObjectInfo], files: [FileToLoad])] = []
        var unrouted: [ObjectInfo] = []
        var downloads: [String] = []
        defer { for path in downloads { unlink(path) } }
        // Taken meanwhile (another worker, or a listing of this one): one read for all. If it
        // fails, none of them is taken now; the next poll lists them again.
        let taken: Set<String>
        do {
            taken = try await warehouse.takenPipeObjects(among: objects.map { ($0.key.rawValue, $0.etag) })
        } catch {
            let keys = objects.count == 1 ? objects[0].key.rawValue : "\(objects.count) objects"
            outcome.errors.append(note(error: "\(keys): \(error)"))
            return outcome
        }
        for object in objects where !taken.contains(Self.claimName(object)) {
            do {
                guard let entity = route(object.key.rawValue) else {
                    unrouted.append(object)
                    continue
                }
                let path: String
                if let bucket = store as? DirectoryBucket {
                    path = bucket.path(of: object.key)
                } else {
                    path = (configuration.downloadDirectory as NSString).appendingPathComponent(UUID().uuidString)
                    downloads.append(path)
                    _ = try await store.download(object.key, to: path)
                }
                let file = fileToLoad(object, path: path)
                if let index = groups.firstIndex(where: { $0.entity == entity }) {
                    groups[index].objects.append(object)
                    groups[index].files.append(file)
                } else {
                    groups.append((entity, [object], [file]))
                }
            } catch {
                outcome.errors.append(note(error: "\(object.key): \(error)"))
            }
        }
        if !unrouted.isEmpty { outcome.errors += await recordUnrouted(unrouted) }
        for group in groups {
            let loaded = await load(group.objects, group.files, into: warehouses[group.entity], started: started)
            outcome.objects += loaded.objects
            outcome.rows += loaded.rows
            outcome.errors += loaded.errors
        }
        return outcome
    }

    /// The file that loads `object`, found at `path` (the bucket's own file, or a download).
    func fileToLoad(_ object: ObjectInfo, path: String) -> FileToLoad {
        FileToLoad(
            path: path,
            name: object.key.rawValue,
            source: store.location.description,
            landedAt: object.landedAt,
            version: object.etag
        )
    }

    /// Prepares announced objects' files (``PreparedFiles``) until the pipe shuts down: each
    /// wake-up takes the objects announced since the last, and reads those still waiting for
    /// their take on a thread of the lowest priority (``runIdle(_:)``), in order, so that a
    /// take finds them read and only applies them. What is held is dropped when it ends.
    func prepareAnnounced() async {
        guard let preparedFiles, let bucket = store as? DirectoryBucket else { return }
        isPreparing.withLockedValue { $0 = true }
        for await _ in preparations {
            let objects = toPrepare.withLockedValue { queue in
                defer { queue = [] }
                return queue
            }
            let jobs = objects.compactMap { object -> (ObjectInfo, FileToLoad, EntityConfiguration)? in
                guard let entity = route(object.key.rawValue) else { return nil }
                return (object, fileToLoad(object, path: bucket.path(of: object.key)), warehouses[entity].entity)
            }
            guard !jobs.isEmpty, !suspended.withLockedValue({ $0 }) else { continue }
            let (announced, isPreparing, reader) = (self.announced, self.isPreparing, configuration.reader)
            // Each `prepare` also drops the entries past their lifetime.
            await runIdle {
                for (object, file, entity) in jobs {
                    // Stopping, or the limits reached: the rest is read in its turn.
                    guard isPreparing.withLockedValue({ $0 }), !preparedFiles.isFull else { return }
                    // Taken meanwhile: its take has read it.
                    let waiting = announced.withLockedValue { queue in
                        queue.contains { $0.key == object.key && $0.etag == object.etag }
                    }
                    if waiting { preparedFiles.prepare(file, entity: entity, configuration: reader) }
                }
            }
        }
        isPreparing.withLockedValue { $0 = false }
        toPrepare.withLockedValue { $0 = [] }
        // Closing the files held is blocking work: off the cooperative pool.
        await runIdle { preparedFiles.removeAll() }
    }

    /// Records objects no entity's route matches as taken and failed, and says so.
    func recordUnrouted(_ objects: [ObjectInfo]) async -> [String] {
        do {
            try await warehouse.recordPipeObjects(
                objects.map { object in
                    PipeObjectTaken(
                        key: object.key.rawValue,
                        etag: object.etag,
                        sizeBytes: object.size,
                        loadID: nil,
                        status: FileLoadStatus.failed.rawValue
                    )
                }
            )
        } catch {
            return [note(error: "\(objects.count) objects no route matches: \(error)")]
        }
        for object in objects {
            stats.withLockedValue { $0.objectsFailed += 1 }
            FirnMetrics.pipeFinished(
                status: FileLoadStatus.failed.rawValue,
                rowsLoaded: 0,
                rowsRejected: 0,
                versionsOpened: 0,
                versionsClosed: 0,
                nanoseconds: 0
            )
            logger.error("\(object.key): not loaded: no entity's route matches it (recorded as failed; see the config's route: entries)")
        }
        return []
    }

    /// Loads one entity's objects (local files by now) into its warehouse and records them taken.
    func load(
        _ loading: [ObjectInfo],
        _ files: [FileToLoad],
        into target: any Warehouse,
        started: ContinuousClock.Instant
    ) async -> PollOutcome {
        var outcome = PollOutcome()
        var committed: [Int64] = []
        let reports: [FileLoadReport]
        do {
            var loader = FileLoader(warehouse: target, reader: configuration.reader)
            loader.preparedFiles = preparedFiles
            reports = try await loader.load(
                files,
                loaded: { _, _ in committed.append(Int64(Date().timeIntervalSince1970 * 1e9)) }
            )
            // Objects whose loads committed above are taken again at the next poll (and
            // skipped as loaded) if this fails.
            try await warehouse.recordPipeObjects(
                zip(loading, reports).map { object, report in
                    PipeObjectTaken(
                        key: object.key.rawValue,
                        etag: object.etag,
                        sizeBytes: object.size,
                        loadID: report.summary?.id,
                        status: report.status.rawValue
                    )
                }
            )
        } catch {
            let keys = loading.count == 1 ? loading[0].key.rawValue : "\(loading.count) objects"
            outcome.errors.append(note(error: "\(keys): \(error)"))
            return outcome
        }
        for (index, (object, report)) in zip(loading, reports).enumerated() {
            stats.withLockedValue { stats in
                switch report.status {
                case .loaded: stats.objectsLoaded += 1
                case .skipped: stats.objectsSkipped += 1
                case .failed: stats.objectsFailed += 1
                }
                stats.rowsLoaded += Int64(report.counts.staged)
                stats.rowsRejected += Int64(report.rejected)
                stats.versionsOpened += Int64(report.counts.versionsOpened)
                stats.versionsClosed += Int64(report.counts.versionsClosed)
                stats.lastError = nil
            }
            FirnMetrics.pipeFinished(
                status: report.status.rawValue,
                rowsLoaded: Int64(report.counts.staged),
                rowsRejected: Int64(report.rejected),
                versionsOpened: Int64(report.counts.versionsOpened),
                versionsClosed: Int64(report.counts.versionsClosed),
                nanoseconds: Int64((ContinuousClock.now - started).nanosecondsCount)
            )
            if report.status == .failed {
                logger.error("\(object.key): not loaded: \(report.error ?? "unknown error") (see firn copy-history)")
            }
            onLoaded(PipeLoad(object: object, report: report, committedAtNanoseconds: committed[index]))
            if report.status == .loaded {
                outcome.objects += 1
                outcome.rows += Int64(report.counts.staged)
            }
        }
        return outcome
    }
}
