import FirnCore
import FirnWarehouse
import GRDB

extension Value {
    /// The value as GRDB binds it.
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let value): value.databaseValue
        case .text(let value): value.databaseValue
        }
    }

    /// A stored value read back. Reals and blobs (only manual DML can put them there) become
    /// text, so that they still compare and print.
    init(_ databaseValue: DatabaseValue) {
        switch databaseValue.storage {
        case .null: self = .null
        case .int64(let value): self = .integer(value)
        case .string(let value): self = .text(value)
        case .double(let value): self = .text(String(value))
        case .blob(let data): self = .text(String(decoding: data, as: UTF8.self))
        }
    }
}

extension Row {
    /// The value at a column index as a Firn ``Value``.
    func value(at index: Int) -> FirnCore.Value {
        FirnCore.Value(self[index] as DatabaseValue)
    }
}
