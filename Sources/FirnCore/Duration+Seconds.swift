extension Duration {
    /// The duration in seconds, as a `Double` (for timings and rates).
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension Duration {
    /// The duration in whole nanoseconds (for metrics that record nanoseconds).
    public var nanosecondsCount: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
