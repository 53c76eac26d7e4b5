// swift-tools-version:6.1
import PackageDescription

/// Settings every target shares (as postgres-nio does): strict existentials and
/// nonisolated-nonsending async functions.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "Firn",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "firn", targets: ["firn"]),
        .library(name: "FirnCore", targets: ["FirnCore"]),
        .library(name: "FirnWarehouse", targets: ["FirnWarehouse"]),
        .library(name: "FirnSQLiteWarehouse", targets: ["FirnSQLiteWarehouse"]),
        .library(name: "FirnPostgresWarehouse", targets: ["FirnPostgresWarehouse"]),
        .library(name: "FirnPipe", targets: ["FirnPipe"]),
        .library(name: "FirnGenerate", targets: ["FirnGenerate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // No default traits: the dashboard needs neither swift-configuration nor full Foundation.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.9.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Records, entity configuration, file reading and the SCD algorithm: pure, no I/O beyond reading bytes.
        .target(name: "FirnCore", swiftSettings: swiftSettings),
        // Seeded synthetic customer changes, written atomically into a landing directory at a rate.
        .target(name: "FirnGenerate", dependencies: ["FirnCore"], swiftSettings: swiftSettings),
        // Config files (YAML) and settings shared by every command.
        .target(
            name: "FirnConfig",
            dependencies: [
                "FirnCore", "FirnObjectStore", "FirnIngest", "FirnTasks", "FirnPostgresWarehouse",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // The bucket: a local directory or any S3-compatible endpoint (SigV4 on async-http-client).
        .target(
            name: "FirnObjectStore",
            dependencies: [
                "FirnCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The landing-directory watcher: complete files only, uploads with retries, its own journal.
        .target(
            name: "FirnIngest",
            dependencies: [
                "FirnCore", "FirnObjectStore", "FirnMetrics",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The one SQLite call Swift cannot make (sqlite3_db_config is variadic).
        .target(name: "CFirnSQLite", linkerSettings: [.linkedLibrary("sqlite3")]),
        // What the stages count and time, through swift-metrics (a backend is chosen by the process).
        .target(
            name: "FirnMetrics",
            dependencies: [.product(name: "Metrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        // The warehouse seam: the protocols every backend implements and the types they exchange.
        .target(name: "FirnWarehouse", dependencies: ["FirnCore"], swiftSettings: swiftSettings),
        // Staging, SCD1, the change stream and SCD2 on SQLite (the embedded default).
        .target(
            name: "FirnSQLiteWarehouse",
            dependencies: [
                "FirnCore",
                "FirnWarehouse",
                "CFirnSQLite",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Staging, SCD1, the change stream and SCD2 on a PostgreSQL server (postgres-nio).
        .target(
            name: "FirnPostgresWarehouse",
            dependencies: [
                "FirnCore",
                "FirnWarehouse",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Loading files exactly once into the warehouse: chunking, checksums, load history, rejects.
        .target(
            name: "FirnPipe",
            dependencies: [
                "FirnCore", "FirnObjectStore", "FirnWarehouse", "FirnMetrics",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The task scheduler (Snowflake Tasks): schedules, cron, task graphs, run history.
        .target(
            name: "FirnTasks",
            dependencies: [
                "FirnCore", "FirnWarehouse", "FirnPipe", "FirnMetrics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The whole flow in one process: ingest, pipe, status and freshness, as one ServiceGroup.
        .target(
            name: "FirnFlow",
            dependencies: [
                "FirnCore", "FirnGenerate", "FirnObjectStore", "FirnIngest", "FirnWarehouse", "FirnPipe", "FirnTasks",
                "FirnMetrics", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The dashboard, its JSON API, /metrics and health checks (`firn serve`, and inside `firn run`).
        .target(
            name: "FirnHTTP",
            dependencies: [
                "FirnCore", "FirnWarehouse", "FirnObjectStore", "FirnIngest", "FirnPipe", "FirnTasks", "FirnFlow",
                "FirnMetrics", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // `firn bench`: deterministic workloads and the plain-SQL baseline.
        .target(
            name: "FirnBench",
            dependencies: [
                "FirnCore", "FirnGenerate", "FirnObjectStore", "FirnWarehouse", "FirnSQLiteWarehouse",
                "FirnPostgresWarehouse", "FirnPipe", "FirnFlow", "FirnHTTP", "FirnMetrics",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The command line: parses arguments and calls the libraries.
        .executableTarget(
            name: "firn",
            dependencies: [
                "FirnCore", "FirnConfig", "FirnObjectStore", "FirnIngest", "FirnWarehouse", "FirnSQLiteWarehouse",
                "FirnPostgresWarehouse", "FirnPipe", "FirnFlow", "FirnGenerate", "FirnBench", "FirnTasks", "FirnHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // The reference model of the SCD contract and a seeded generator, shared by the test targets.
        .target(
            name: "FirnTestSupport",
            dependencies: [
                "FirnCore", "FirnWarehouse", "FirnSQLiteWarehouse", "FirnPostgresWarehouse",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/FirnTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FirnCoreTests",
            dependencies: [
                "FirnCore", "FirnTestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FirnObjectStoreTests",
            dependencies: [
                "FirnObjectStore", "FirnBench", "FirnTestSupport", .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FirnIngestTests",
            dependencies: [
                "FirnIngest", "FirnObjectStore", "FirnTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FirnGenerateTests",
            dependencies: ["FirnGenerate", "FirnCore", "FirnTestSupport"],
            swiftSettings: swiftSettings
        ),
        // The whole flow over real parts: generator, landing directory, directory bucket and moto, pipe.
        .testTarget(
            name: "FirnFlowTests",
            dependencies: [
                "FirnBench", "FirnCore", "FirnFlow", "FirnIngest", "FirnObjectStore", "FirnPipe", "FirnWarehouse",
                "FirnSQLiteWarehouse", "FirnTestSupport", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FirnTasksTests",
            dependencies: ["FirnTasks", "FirnWarehouse", "FirnSQLiteWarehouse", "FirnCore", "FirnTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FirnConfigTests",
            dependencies: ["FirnConfig", "FirnIngest", "FirnPostgresWarehouse"],
            swiftSettings: swiftSettings
        ),
        // The SCD contract through the Warehouse protocol (the backends come from FirnTestSupport).
        .testTarget(
            name: "FirnWarehouseTests",
            dependencies: ["FirnCore", "FirnWarehouse", "FirnPipe", "FirnTestSupport"],
            swiftSettings: swiftSettings
        ),
        // What is PostgreSQL's own, against the test run's server (scripts/postgres-server).
        .testTarget(
            name: "FirnPostgresWarehouseTests",
            dependencies: ["FirnCore", "FirnWarehouse", "FirnPostgresWarehouse", "FirnTestSupport"],
            swiftSettings: swiftSettings
        ),
        // What is SQLite's own: user SQL's authorizer, key states across connections, layout
        // migrations, schema versions, the write-ahead-log VFS.
        .testTarget(
            name: "FirnSQLiteWarehouseTests",
            dependencies: [
                "FirnCore", "FirnWarehouse", "FirnSQLiteWarehouse", "FirnTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Drives the real `firn` executable: load reports, rejects, crash recovery.
        .testTarget(
            name: "FirnCLITests",
            dependencies: ["firn", "FirnCore", "FirnWarehouse", "FirnSQLiteWarehouse"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FirnBenchTests",
            dependencies: [
                "FirnCore", "FirnWarehouse", "FirnSQLiteWarehouse", "FirnPostgresWarehouse", "FirnBench", "FirnTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP server on a real socket, read with a real HTTP client.
        .testTarget(
            name: "FirnHTTPTests",
            dependencies: [
                "FirnCore", "FirnWarehouse", "FirnSQLiteWarehouse", "FirnHTTP", "FirnFlow", "FirnTestSupport",
                "FirnObjectStore", "FirnPipe", "FirnTasks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The dashboard from outside, against the real `firn` executable: headless Chromium
        // (WebDriver) and schemathesis against the OpenAPI document.
        .testTarget(
            name: "FirnDashboardTests",
            dependencies: ["firn", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FirnPipeTests",
            dependencies: [
                "FirnCore", "FirnWarehouse", "FirnSQLiteWarehouse", "FirnPipe", "FirnObjectStore", "FirnIngest",
                "FirnTestSupport", "FirnBench", "FirnGenerate",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
