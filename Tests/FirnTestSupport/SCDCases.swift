import FirnCore

/// Generated inputs for the SCD contract's property tests: records with NULLs, empty strings,
/// quotes, newlines and unicode, duplicates, deletes, equal and future event times, spread
/// over files and chunks at random.
public enum SCDCases {
    public static let texts = [
        "", " ", "a", "b", "O'Brien", "say \"hi\"", "a,b", "two\nlines", "NULL", "\\N",
        "Zo\u{EB}", "Zoe\u{308}", "東京", "🏔️🙂",
    ]

    /// A random attribute value: NULL, empty, quotes, commas, newlines, unicode.
    public static func field(_ rng: inout SeededGenerator) -> Value {
        rng.chance(0.2) ? .null : .text(texts.randomElement(using: &rng)!)
    }

    /// Random drafts. With `distinctTimes`, no key gets two different records at one event time
    /// (exact duplicates of an earlier row still occur).
    public static func drafts(_ rng: inout SeededGenerator, distinctTimes: Bool) -> [Draft] {
        let keyCount = rng.int(1...8)
        let timeCount = distinctTimes ? 40 : rng.int(2...8)
        var times = (0..<timeCount).map { at($0 * 3, micros: $0 % 3 == 0 ? 0 : 250_000 * ($0 % 4)) }
        if rng.chance(0.2) { times.append(Timestamp(year: 2099, month: 1, day: 1)!) }  // future-dated
        var drafts: [Draft] = []
        var used: [Int64: Set<Timestamp>] = [:]
        for _ in 0..<rng.int(1...24) {
            if let earlier = drafts.randomElement(using: &rng), rng.chance(0.1) {
                drafts.append(earlier)  // a duplicate row
                continue
            }
            let key = Int64(rng.int(1...keyCount))
            let free = times.filter { !distinctTimes || !(used[key]?.contains($0) ?? false) }
            guard let time = free.randomElement(using: &rng) else { continue }
            used[key, default: []].insert(time)
            var attributes = (0..<7).map { _ in field(&rng) }
            let sameKey = drafts.filter { $0.key == key && $0.operation == .upsert }
            if let earlier = sameKey.randomElement(using: &rng), rng.chance(0.5) {
                attributes = earlier.attributes  // an unchanged snapshot: a no-op upsert
                if rng.chance(0.3) { attributes[rng.int(0...6)] = field(&rng) }  // or a small change
            }
            let operation: FirnCore.Operation = rng.chance(0.15) ? .delete : .upsert
            drafts.append(Draft(key: key, time: time, operation: operation, attributes: attributes))
        }
        return drafts
    }

    /// Spreads drafts over 1–4 files, keeping their relative order inside each file.
    public static func files(_ drafts: [Draft], _ rng: inout SeededGenerator, prefix: String = "f") -> [TestFile] {
        let count = rng.int(1...4)
        var files = (0..<count).map { TestFile(name: "\(prefix)\($0).csv", checksum: "sum-\($0)", rows: []) }
        for draft in drafts { files[rng.int(0...(count - 1))].rows.append(draft) }
        return files
    }

    public static func chunkSizes(_ rng: inout SeededGenerator) -> [Int] {
        (0..<rng.int(0...5)).map { _ in rng.int(1...4) }
    }
}

/// Generated manual DML on the customer SCD1 table, for the manual-DML property tests: the
/// same kinds of change in each backend's dialect (SQLite's `INSERT OR REPLACE`, `UPDATE OR
/// IGNORE`, and keys it assigns; on PostgreSQL `ON CONFLICT`, guarded key changes, and the
/// same key SQLite would assign, `max + 1`).
public enum ManualDMLCases {
    /// The customer attributes.
    public static let columns = TestWarehouse.attributeNames

    public static func literal(_ value: Value) -> String {
        switch value {
        case .null: "NULL"
        case .integer(let number): String(number)
        case .text(let text): "'" + String(text.flatMap { $0 == "'" ? ["'", "'"] : [$0] }) + "'"
        }
    }

    public static func statement(_ rng: inout SeededGenerator, on backend: TestBackend = .sqlite) -> String {
        let key = rng.int(1...9)
        let column = ManualDMLCases.columns.randomElement(using: &rng)!
        let value = literal(SCDCases.field(&rng))
        let choice = rng.int(0...9)
        let names = ManualDMLCases.columns.joined(separator: ", ")
        switch choice {
        case 0, 1: return "UPDATE customer SET \(column) = \(value) WHERE customer_id = \(key)"
        case 2: return "DELETE FROM customer WHERE customer_id = \(key)"
        case 3, 6:
            // SQLite's REPLACE removes a row of the key without firing DELETE triggers; on
            // PostgreSQL the same change is an update of the row.
            let values = (0..<7).map { _ in literal(SCDCases.field(&rng)) }
            let (conflict, time) = choice == 3 ? ("IGNORE", "'2000-01-01 00:00:00.000000'") : ("REPLACE", "NULL")
            let insert = "INTO customer (customer_id, \(names), update_timestamp) VALUES (\(key), \(values.joined(separator: ", ")), \(time))"
            guard backend == .postgres else { return "INSERT OR \(conflict) " + insert }
            let sets = (ManualDMLCases.columns + ["update_timestamp"]).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
            return "INSERT " + insert + (choice == 3 ? " ON CONFLICT (customer_id) DO NOTHING" : " ON CONFLICT (customer_id) DO UPDATE SET \(sets)")
        case 4:
            let target = rng.int(1...9)
            guard backend == .postgres else {
                return "UPDATE OR IGNORE customer SET customer_id = \(target) WHERE customer_id = \(key)"
            }
            return "UPDATE customer SET customer_id = \(target) WHERE customer_id = \(key) "
                + "AND NOT EXISTS (SELECT 1 FROM customer WHERE customer_id = \(target) AND \(target) <> \(key))"
        case 5: return "UPDATE customer SET \(column) = \(value)"
        case 7:
            let target = rng.int(1...9)
            guard backend == .postgres else {
                return "UPDATE OR REPLACE customer SET customer_id = \(target) WHERE customer_id = \(key)"
            }
            return "DELETE FROM customer WHERE customer_id = \(target) AND \(target) <> \(key) "
                + "AND EXISTS (SELECT 1 FROM customer WHERE customer_id = \(key)); "
                + "UPDATE customer SET customer_id = \(target) WHERE customer_id = \(key)"
        case 8:
            guard backend == .postgres else { return "INSERT INTO customer (\(column)) VALUES (\(value))" }
            return "INSERT INTO customer (customer_id, \(column)) "
                + "SELECT coalesce(max(customer_id), 0) + 1, \(value) FROM customer"
        default: return "UPDATE customer SET update_timestamp = '2001-01-01 00:00:00.000000' WHERE customer_id = \(key)"
        }
    }
}
