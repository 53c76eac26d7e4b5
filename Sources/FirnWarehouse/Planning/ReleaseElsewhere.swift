import Dispatch

/// Frees `value` on another thread, off the caller's path. A batch's records and working state
/// are a few small allocations per record or key, and freeing a hundred thousand of them takes
/// tens of milliseconds that a transaction waiting to commit should not spend. Pass the only
/// reference (`consume`), or the caller's copy is freed where it ends anyway.
public func releaseElsewhere<Value>(_ value: consuming Value) {
    let box = ReleaseBox(consume value)
    DispatchQueue.global(qos: .utility).async { box.drop() }
}

/// Holds a value until ``drop()``; only ever touched by one thread at a time (the one that
/// made it, then the one that drops it).
private final class ReleaseBox<Value>: @unchecked Sendable {
    private var value: Value?

    init(_ value: consuming Value) {
        self.value = consume value
    }

    func drop() {
        value = nil
    }
}
