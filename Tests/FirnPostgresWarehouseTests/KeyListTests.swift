import FirnCore
import Testing

@testable import FirnPostgresWarehouse

/// The keys a chunk leaves in `firn_epoch_keys` read back as they were written, for keys of
/// one integer and composite keys of integers, text and NULL; truncated bytes are refused.
@Suite struct KeyListTests {
    @Test func integerKeysRoundTrip() {
        let keys = [Key(1), Key(-7), Key(Int64.max)]
        var bytes = KeyList.encode(keys)
        #expect(KeyList.decode(&bytes, width: 1) == keys)
    }

    @Test func compositeKeysRoundTrip() {
        let keys = [
            Key([.text("eu"), .integer(42)]), Key([.text(""), .null]), Key([.text("ö|\t\n"), .integer(-1)]),
        ]
        var bytes = KeyList.encode(keys)
        #expect(KeyList.decode(&bytes, width: 2) == keys)
        var cut = KeyList.encode(keys)
        cut.moveWriterIndex(to: cut.writerIndex - 3)
        #expect(KeyList.decode(&cut, width: 2) == nil)
    }
}
