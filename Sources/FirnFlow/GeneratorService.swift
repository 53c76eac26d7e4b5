import FirnGenerate
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The generator as a service of the flow (`firn run --generate RATE`): writes files into the
/// landing directory on its schedule until shut down, and tells the freshness tracker when
/// each file was renamed into place.
public struct GeneratorService: Service {
    let writer: GeneratedFileWriter
    let freshness: FreshnessTracker
    let generated: NIOLockedValueBox<GeneratedTally>
    let onFile: @Sendable (GeneratedFileWriter.WrittenFile) -> Void

    /// Creates the service.
    ///
    /// - Parameters:
    ///   - writer: The generator and where it writes.
    ///   - flow: The flow whose freshness it feeds.
    ///   - onFile: Called after each file is renamed into place.
    public init(
        writer: GeneratedFileWriter,
        flow: Flow,
        onFile: @escaping @Sendable (GeneratedFileWriter.WrittenFile) -> Void = { _ in }
    ) {
        self.writer = writer
        self.freshness = flow.freshness
        self.generated = flow.generatedBox
        self.onFile = onFile
    }

    public func run() async throws {
        let writer = writer
        let freshness = freshness
        let onFile = onFile
        let generated = generated
        try await cancelWhenGracefulShutdown {
            _ = try await writer.run { file in
                freshness.landed(name: file.name, atNanoseconds: file.renamedAtNanoseconds)
                generated.withLockedValue { tally in
                    tally.files += 1
                    tally.rows += file.counts.rows
                }
                onFile(file)
            }
        }
    }
}
