import Testing

@testable import FirnCore

@Suite("Reader throughput")
struct ReaderThroughputTests {
    /// Prints rows per second for typical customer rows; not a timing assertion.
    @Test("prints CSV and JSON Lines rows per second")
    func throughput() throws {
        let directory = try TestDirectory()
        let rows = 100_000
        var csv = customerHeader + "\n"
        var json = ""
        csv.reserveCapacity(rows * 110)
        for id in 1...rows {
            let time = "2026-11-\(10 + id % 18) 10:15:\(10 + id % 50).123456"
            csv += "\(id),Ada\(id % 97),Lovelace,ada.\(id)@example.com,\(id % 999) Main Street,Oslo,OS,NO,\(time),U\n"
            if id <= rows / 4 {
                json +=
                    #"{"customer_id": \#(id), "first_name": "Ada", "last_name": "Lovelace", "email": "a\#(id)@x.com", "#
                    + #""street": "1 Main St", "city": "Oslo", "state": "OS", "country": "NO", "#
                    + #""update_timestamp": "\#(time)", "op": "U"}"# + "\n"
            }
        }
        for (name, text, count) in [("csv", csv, rows), ("jsonl", json, rows / 4)] {
            let path = try directory.write(text, to: "bench.\(name)")
            var best = Duration.seconds(1000)
            for _ in 0..<3 {
                var records = 0
                let elapsed = try ContinuousClock().measure {
                    var reader = try RecordFileReader(
                        path: path,
                        entity: .customer,
                        load: 1,
                        defaultEventTime: loadTime
                    )
                    while let chunk = try reader.nextChunk() { records += chunk.records.count }
                }
                #expect(records == count)
                best = min(best, elapsed)
            }
            let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) * 1e-18
            print("\(name): \(count) rows in \(best) (best of 3): \(Int(Double(count) / seconds)) rows/s")
        }
    }
}
