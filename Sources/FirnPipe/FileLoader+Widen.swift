import FirnCore
import FirnWarehouse

extension FileLoader {
    /// Under `schema_evolution: evolve`, whether a chunk's rejected rows name wider types for
    /// attributes (``RecordChunk/widenings``) not already asked for while loading this file
    /// (`asked`): then the attributes are widened before the chunk applies, and the file is
    /// read again with them (the rows committed skipped). A widening asked for twice is not
    /// asked again, so a file is read again at most twice per attribute.
    func needsWidening(_ chunk: RecordChunk, asked: Set<Column>) -> Bool {
        warehouse.entity.schemaEvolution == .evolve && chunk.widenings.contains { !asked.contains($0) }
    }

    /// Widens the attributes a chunk's values need (``Warehouse/widenAttributes(_:file:)``);
    /// the entity after, with a note for load history saying what changed.
    ///
    /// - Throws: ``WarehouseError`` that may clear on retry (a lost server); one that will not
    ///   fails the file instead.
    func widen(
        _ columns: [Column],
        file: FileInLoad,
        asked: inout Set<Column>
    ) async throws(WarehouseError) -> Evolution {
        asked.formUnion(columns)
        let before = warehouse.entity
        let after: EntityConfiguration
        do {
            after = try await warehouse.widenAttributes(columns, file: file.content.name)
        } catch  where !error.mayRetry {
            return .failed("\(file.path): its values need wider column types, which could not be made: \(error)")
        }
        let changes = columns.compactMap { column -> String? in
            guard let old = before.attributeColumns.first(where: { $0.name == column.name }),
                let new = after.attributeColumns.first(where: { $0.name == column.name }), old.type != new.type
            else { return nil }
            return "\(column.name) \(old.type.rawValue) to \(new.type.rawValue)"
        }
        let note =
            changes.isEmpty
            ? nil : "column type(s) widened (schema_evolution: evolve): \(changes.joined(separator: ", "))"
        return .entity(after, note: note)
    }
}
