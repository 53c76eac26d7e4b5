import FirnCore
import FirnWarehouse
import GRDB

extension BatchApplier {
    /// Sets ``KeyGroup/isInOrder`` and ``KeyGroup/open`` of each group the key states did not know,
    /// from the database.
    func probe(_ groups: inout [KeyGroup]) throws {
        let unchangedFrom = try FastStatement(db, sql: schema.unchangedFrom)
        let openVersion = try FastStatement(db, sql: schema.openVersionProbe)
        let lastClosed = try FastStatement(db, sql: schema.lastClosedProbe)
        let width = Int32(schema.attributes.count)
        for index in groups.indices where !groups[index].isKnown {
            let key = groups[index].key
            let from = groups[index].from
            // The open version is the SCD1 row, and the latest version; else the latest closed one.
            openVersion.bind(key, from: 1)
            if try openVersion.step() {
                let start = openVersion.timestamp(at: width)
                if let start, start < from {
                    groups[index].open = Version(
                        key: key,
                        attributes: (0..<width).map { openVersion.value(at: $0) },
                        start: start,
                        end: nil
                    )
                } else {
                    groups[index].isInOrder = false
                }
            } else {
                lastClosed.bind(key, from: 1)
                if try lastClosed.step(), let start = lastClosed.timestamp(at: 0) {
                    let end = lastClosed.timestamp(at: 1)
                    if start >= from || end.map({ $0 >= from }) != false { groups[index].isInOrder = false }
                }
                lastClosed.reset()
            }
            openVersion.reset()
            guard groups[index].isInOrder else { continue }
            // Records that changed nothing leave no version; they are kept apart.
            unchangedFrom.bind(from, at: 1)
            unchangedFrom.bind(key, from: 2)
            guard try unchangedFrom.step() else {
                throw WarehouseError.statementFailed(sql: schema.unchangedFrom, reason: "no row")
            }
            if !unchangedFrom.isNull(at: 0), unchangedFrom.int64(at: 0) == 1 {
                groups[index].isInOrder = false
                groups[index].open = nil
            }
            unchangedFrom.reset()
        }
    }
}
