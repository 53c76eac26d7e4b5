import FirnCore
import FirnGenerate
import Testing

/// `firn generate --evolve-at-file N --partial-images SHARE`: the same rows, written with a new
/// column from file N on and some updates as partial images.
@Suite struct GeneratedFileShapeTests {
    /// The file's rows as fields (quotes removed; the generator quotes commas and quotes, and
    /// writes no line breaks inside fields).
    static func lines(_ bytes: [UInt8]) -> [[String]] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { line in
            var fields: [String] = []
            var field = ""
            var quoted = false
            var previous: Character?
            for character in line {
                if character == "\"" {
                    if quoted, previous == "\"" { field.append("\"") }
                    quoted.toggle()
                } else if character == ",", !quoted {
                    fields.append(field)
                    field = ""
                } else {
                    field.append(character)
                }
                previous = character
            }
            fields.append(field)
            return fields
        }
    }

    @Test func fromTheEvolvingFileOnFilesCarryALoyaltyTier() throws {
        var configuration = GeneratorConfiguration(seed: 5)
        configuration.rowsPerFile = 200
        configuration.evolveAtFile = 2
        var generator = try ChangeGenerator(configuration: configuration)
        for index in 0..<4 {
            let file = generator.nextFile()
            let rows = Self.lines(file.csv(configuration))
            let plain = Self.lines(file.csv())
            if index < 2 {
                #expect(rows == plain)
                continue
            }
            #expect(rows[0].last == "loyalty_tier")
            for (row, change) in zip(rows.dropFirst(), file.changes) {
                #expect(row.count == 11)
                let tier = row.last!
                #expect(change.kind == .delete ? tier.isEmpty : ["bronze", "silver", "gold"].contains(tier))
            }
        }
    }

    @Test func partialImagesKeepOnlyTheChangedFieldsOfTheSameRows() throws {
        var full = GeneratorConfiguration(seed: 9)
        full.rowsPerFile = 500
        full.lateFraction = 0.1
        var partial = full
        partial.partialShare = 1
        var plain = try ChangeGenerator(configuration: full)
        var sparse = try ChangeGenerator(configuration: partial)
        var updates = 0
        for _ in 0..<3 {
            let file = plain.nextFile()
            #expect(sparse.nextFile() == file, "the partial share changed the rows")
            for (row, change) in zip(Self.lines(file.csv(partial)).dropFirst(), file.changes) {
                let attributes = row[1...7]
                guard change.kind == .update else {
                    #expect(attributes.allSatisfy { !$0.isEmpty } || change.profile.attributes.contains(""))
                    continue
                }
                updates += 1
                #expect(change.changedFields != 0)
                let given = attributes.indices.filter { !row[$0].isEmpty }.map { $0 - 1 }
                let changed = (0..<7).filter { change.changedFields & (1 << $0) != 0 }
                #expect(given == changed, "\(row)")
            }
        }
        #expect(updates > 500)
    }
}
