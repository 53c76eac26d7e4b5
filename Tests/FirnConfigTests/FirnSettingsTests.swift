import FirnConfig
import FirnCore
import FirnIngest
import FirnPostgresWarehouse
import Testing

@Suite struct FirnSettingsTests {
    @Test func defaultsNeedNoConfigFile() {
        let settings = FirnSettings()
        #expect(settings.entity == .customer)
        #expect(settings.dataDirectory == "./firn-data")
        #expect(settings.resolvedWarehouse == .sqlite(path: "./firn-data/firn.sqlite"))
    }

    @Test func declaresAnotherEntity() throws {
        let settings = try FirnSettings.parse(
            yaml: """
                data_dir: /tmp/products
                entity:
                  name: product
                  keys: [{ name: region, type: text }, { name: sku, type: integer }]
                  attributes:
                    - { name: title }
                    - { name: price, type: decimal }
                    - { name: in_stock, type: boolean }
                    - { name: launched, type: date }
                    - { name: checked_at, type: timestamp }
                  event_time: changed_at
                  op: action
                reader: { chunk_rows: 500, chunk_bytes: 65536, max_field_bytes: 4096 }
                """
        )
        #expect(settings.dataDirectory == "/tmp/products")
        #expect(settings.entity.name == "product")
        #expect(settings.entity.keyColumns.map(\.type) == [.text, .integer])
        #expect(settings.entity.attributeColumns.map(\.type) == [.text, .decimal, .boolean, .date, .timestamp])
        #expect(settings.entity.eventTimeColumn == "changed_at")
        #expect(settings.entity.operationColumn == "action")
        #expect(settings.entity.rawTable.normalized == "product_raw")
        #expect(settings.entity.historyTable.normalized == "product_history")
        #expect(settings.reader.chunkRows == 500)
        #expect(settings.reader.chunkBytes == 65536)
        #expect(settings.reader.maxFieldBytes == 4096)
        #expect(settings.sqlitePageSize == nil)
    }

    @Test(arguments: [
        "x; DROP TABLE customer", "customer\"", "1abc", "select", "naïve", "", String(repeating: "a", count: 64),
    ])
    func rejectsNamesThatAreNotIdentifiers(name: String) {
        let yaml = """
            entity:
              name: product
              keys: [{ name: id, type: integer }]
              attributes: [{ name: \(name.debugDescription) }]
            """
        #expect(throws: ConfigurationError.self) { try FirnSettings.parse(yaml: yaml) }
        let asEntity = """
            entity:
              name: \(name.debugDescription)
              keys: [{ name: id, type: integer }]
              attributes: [{ name: title }]
            """
        #expect(throws: ConfigurationError.self) { try FirnSettings.parse(yaml: asEntity) }
    }

    @Test func rejectsUnknownTypesAndReservedOrDuplicateColumns() {
        let cases = [
            "keys: [{ name: id, type: uuid }]\n  attributes: [{ name: a }]",
            "keys: [{ name: id }]\n  attributes: [{ name: ID }]",
            "keys: [{ name: id }]\n  attributes: [{ name: start_time }]",
            "keys: []\n  attributes: [{ name: a }]",
        ]
        for body in cases {
            #expect(throws: ConfigurationError.self) {
                try FirnSettings.parse(yaml: "entity:\n  name: thing\n  \(body)")
            }
        }
    }

    @Test func warehouseURLs() throws {
        #expect(try WarehouseLocation(parsing: "sqlite:/tmp/x.sqlite") == .sqlite(path: "/tmp/x.sqlite"))
        #expect(try WarehouseLocation(parsing: "sqlite://rel/x.sqlite") == .sqlite(path: "rel/x.sqlite"))
        #expect(throws: ConfigurationError.self) { try WarehouseLocation(parsing: "mysql://x") }
        #expect(throws: ConfigurationError.self) { try WarehouseLocation(parsing: "sqlite:") }
    }

    /// `open_end`, `deletes` and `schema_evolution` on the built-in customer (no definition needed) or on a
    /// declared entity; anything else, or half a definition, is refused saying what to write.
    @Test func openEndOption() throws {
        #expect(try FirnSettings.parse(yaml: "entity:\n  open_end: null\n").entity.openEnd == .null)
        #expect(try FirnSettings.parse(yaml: "entity:\n  open_end: NULL\n").entity.name == "customer")
        #expect(try FirnSettings.parse(yaml: "entity:\n  open_end: sentinel\n").entity == .customer)
        let declared = try FirnSettings.parse(
            yaml: "entity:\n  name: p\n  keys: [{ name: id }]\n  attributes: [{ name: a }]\n  open_end: 'null'\n"
        )
        #expect(declared.entity.name == "p" && declared.entity.openEnd == .null)
        let unknown = ConfigStrictnessTests().error("entity:\n  open_end: never\n")
        #expect(unknown?.contains("firn.yaml: entity.open_end: unknown value \"never\" (use sentinel or null)") == true)
        #expect(try FirnSettings.parse(yaml: "entity:\n  deletes: record\n").entity.deletes == .record)
        #expect(try FirnSettings.parse(yaml: "entity:\n  deletes: close\n").entity == .customer)
        #expect(try FirnSettings.parse(yaml: "entity:\n  schema_evolution: reject\n").entity.schemaEvolution == .reject)
        #expect(try FirnSettings.parse(yaml: "entity:\n  schema_evolution: ignore\n").entity.schemaEvolution == .ignore)
        #expect(try FirnSettings.parse(yaml: "entity:\n  schema_evolution: evolve\n").entity == .customer)
        #expect(try FirnSettings.parse(yaml: "data_dir: x\n").entity.schemaEvolution == .evolve)
        let evolution = ConfigStrictnessTests().error("entity:\n  schema_evolution: grow\n")
        #expect(
            evolution?.contains("entity.schema_evolution: unknown value \"grow\" (use ignore or reject or evolve)")
                == true
        )
        #expect(try FirnSettings.parse(yaml: "entity:\n  widen_to_text: true\n").entity.widenToText)
        #expect(try FirnSettings.parse(yaml: "entity:\n  widen_to_text: false\n").entity == .customer)
        let widening = ConfigStrictnessTests().error("entity:\n  schema_evolution: ignore\n  widen_to_text: true\n")
        #expect(
            widening?.contains(
                "entity.widen_to_text: columns are widened only under schema_evolution: evolve, not ignore"
            ) == true,
            "\(String(describing: widening))"
        )
        let clash = ConfigStrictnessTests().error(
            "entity:\n  name: p\n  keys: [{ name: id }]\n  attributes: [{ name: is_deleted }]\n  deletes: record\n"
        )
        #expect(
            clash?.contains("entity.deletes: record adds a column is_deleted to p_history") == true,
            "\(String(describing: clash))"
        )
        let deletes = ConfigStrictnessTests().error("entity:\n  deletes: invalidate\n")
        #expect(
            deletes?.contains("firn.yaml: entity.deletes: unknown value \"invalidate\" (use close or record)") == true
        )
        let withoutDefinition = ConfigStrictnessTests().error("entity:\n  open_end: null\n  op: action\n")
        #expect(withoutDefinition?.contains("give its name, keys and attributes too") == true)
        let half = ConfigStrictnessTests().error("entity:\n  keys: [{ name: id }]\n")
        #expect(half?.contains("entity: name and attributes missing") == true)
    }

    /// `track_history` (what is tracked), `track_history_except` (what is not) and
    /// `null_updates`; a name that is not an attribute, both lists, or an unknown value is
    /// refused naming it.
    @Test func historyPolicyOptions() throws {
        let tracked = try FirnSettings.parse(yaml: "entity:\n  track_history: [first_name, Last_Name]\n").entity
        #expect(tracked.untrackedAttributes == ["email", "street", "city", "state", "country"])
        #expect(tracked.historyPolicy.untracked == [2, 3, 4, 5, 6])
        let except = try FirnSettings.parse(yaml: "entity:\n  track_history_except: [email]\n  null_updates: IGNORE\n")
            .entity
        #expect(except.untrackedAttributes == ["email"] && except.nullUpdates == .ignore)
        #expect(except.historyPolicy == HistoryPolicy(untracked: [2], nullUpdates: .ignore))
        #expect(try FirnSettings.parse(yaml: "entity:\n  null_updates: apply\n").entity == .customer)
        let unknownColumn = ConfigStrictnessTests().error("entity:\n  track_history_except: [e_mail]\n")
        #expect(
            unknownColumn?.contains(
                "firn.yaml: entity.track_history_except: \"e_mail\" is not an attribute of customer (attributes: first_name,"
            ) == true,
            "\(unknownColumn ?? "")"
        )
        let key = ConfigStrictnessTests().error("entity:\n  track_history: [customer_id]\n")
        #expect(key?.contains("\"customer_id\" is not an attribute of customer") == true)
        let both = ConfigStrictnessTests().error("entity:\n  track_history: [email]\n  track_history_except: [city]\n")
        #expect(both?.contains("give track_history or track_history_except, not both") == true)
        let nothingTracked = ConfigStrictnessTests().error("entity:\n  track_history: []\n")
        #expect(nothingTracked?.contains("track_history leaves no attribute tracked") == true)
        let allExcepted = ConfigStrictnessTests().error(
            "entity:\n  track_history_except: [first_name, last_name, email, street, city, state, country]\n"
        )
        #expect(allExcepted?.contains("track_history leaves no attribute tracked") == true)
        let value = ConfigStrictnessTests().error("entity:\n  null_updates: skip\n")
        #expect(value?.contains("entity.null_updates: unknown value \"skip\" (use apply or ignore)") == true)
    }

    @Test func badYamlNamesTheProblem() {
        do {
            _ = try FirnSettings.parse(yaml: "entity:\n  name: p\n", source: "firn.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("firn.yaml"))
            #expect(error.description.contains("keys"))
        }
    }

    @Test func tasksFromTheConfig() throws {
        let settings = try FirnSettings.parse(
            yaml: """
                bucket: s3://firn/in?endpoint=http://127.0.0.1:5000
                landing: /tmp/landing
                tasks:
                  - name: load
                    schedule: 1 minute
                  - name: retention
                    days: 3
                  - name: counts
                    schedule: USING CRON 0 * * * * Europe/Paris
                    when: new_loads
                    sql: INSERT INTO counts SELECT count(*) FROM customer
                  - name: after_counts
                    after: [counts]
                    retries: 0
                    sql: DELETE FROM counts WHERE 0
                  - name: on_data
                    on_data: true
                    sql: SELECT 1
                """
        )
        #expect(settings.landingDirectory == "/tmp/landing")
        #expect(settings.resolvedBucket.description.hasPrefix("s3://firn/in"))
        #expect(settings.tasks.map(\.name) == ["load", "retention", "counts", "after_counts", "on_data"])
        #expect(settings.tasks[0].trigger == .schedule(.interval(.seconds(60))))
        #expect(settings.tasks[1].action == .retention(days: 3))
        #expect(settings.tasks[2].condition == .newLoads)
        #expect(settings.tasks[3].trigger == .after(["counts"]) && settings.tasks[3].retries == 0)
        #expect(settings.tasks[4].trigger == .onData && settings.tasks[4].condition == .newLoads)
        #expect(FirnSettings().tasks.map(\.name) == ["load", "retention"])
    }

    @Test func badTasksAreRefusedWithTheirName() {
        let cases = [
            "- { name: load, sql: SELECT 1 }",
            "- { name: t, schedule: 0 minutes, sql: SELECT 1 }",
            "- { name: t, sql: SELECT 1 }",
            "- { name: t, schedule: 1 minute, after: [load], sql: SELECT 1 }",
            "- { name: t, after: [nope], sql: SELECT 1 }",
            "- { name: t, schedule: 1 minute, when: sometimes, sql: SELECT 1 }",
            "- { name: t, schedule: cron 0 25 * * *, sql: SELECT 1 }",
            "- { name: t, on_data: true, days: 3, sql: SELECT 1 }",
        ]
        for body in cases {
            do {
                _ = try FirnSettings.parse(yaml: "tasks:\n  \(body)\n", source: "firn.yaml")
                Issue.record("accepted \(body)")
            } catch {
                #expect(error.description.contains("firn.yaml"), "\(error)")
            }
        }
    }
}

/// Issue 11: nothing in a config file is ignored or crashes; secrets in URLs are never echoed.
@Suite struct ConfigStrictnessTests {
    /// `sqlite.page_size`: a power of two from 512 to 65536, for an SQLite warehouse only.
    @Test func sqlitePageSizeIsAPowerOfTwoForAnSQLiteWarehouse() throws {
        #expect(try FirnSettings.parse(yaml: "sqlite: { page_size: 2048 }").sqlitePageSize == 2048)
        #expect(try FirnSettings.parse(yaml: "sqlite:\n  page_size: 65536").sqlitePageSize == 65536)
        for (yaml, expected) in [
            ("sqlite: { page_size: 3000 }", "sqlite.page_size must be a power of two from 512 to 65536, not 3000"),
            ("sqlite: { page_size: 256 }", "sqlite.page_size"),
            ("sqlite: { page_size: 131072 }", "sqlite.page_size"),
            ("sqlite: { page_sise: 2048 }", "unknown key sqlite.page_sise in firn.yaml; known keys here: page_size"),
            (
                "warehouse: postgres://db.example/analytics\nsqlite: { page_size: 2048 }",
                "sqlite.page_size is for an SQLite warehouse, and the warehouse is PostgreSQL"
            ),
        ] {
            let message = error(yaml)
            #expect(message?.contains(expected) == true, "\(yaml): \(message ?? "accepted")")
        }
    }

    @Test func keyStateCapacityIsBoundedAndDefaultsToTheWarehouses() throws {
        #expect(try FirnSettings.parse(yaml: "data_dir: /tmp/x").keyStateCapacity == nil)
        #expect(try FirnSettings.parse(yaml: "key_state_capacity: 1000000").keyStateCapacity == 1_000_000)
        #expect(try FirnSettings.parse(yaml: "key_state_capacity: 0").keyStateCapacity == 0)
        let postgres = "warehouse: postgres://db.example/analytics\nkey_state_capacity: 500000"
        #expect(try FirnSettings.parse(yaml: postgres).keyStateCapacity == 500_000)
        for yaml in ["key_state_capacity: -1", "key_state_capacity: 10000001", "key_state_capacity: many"] {
            let message = error(yaml)
            #expect(message?.contains("key_state_capacity") == true, "\(yaml): \(message ?? "accepted")")
        }
    }

    /// Parses `yaml` as `firn.yaml` and returns the error's description, or `nil` when it was accepted.
    func error(_ yaml: String) -> String? {
        do {
            _ = try FirnSettings.parse(yaml: yaml, source: "firn.yaml")
            return nil
        } catch {
            return error.description
        }
    }

    @Test(arguments: [
        ("dta_dir: /tmp/x", "dta_dir", "bucket, data_dir, entities, entity"),
        (
            "entity:\n  name: p\n  keys: [{ name: id, typ: integer }]\n  attributes: [{ name: a }]",
            "entity.keys.0.typ",
            "name, type"
        ),
        (
            "entity:\n  name: p\n  keys: [{ name: id }]\n  attributes: [{ name: a }, { name: b, tpye: text }]",
            "entity.attributes.1.tpye", "name, type"
        ),
        (
            "entity:\n  name: p\n  key: [{ name: id }]\n  keys: [{ name: id }]\n  attributes: [{ name: a }]",
            "entity.key",
            "attributes, deletes, event_time, keys, name, null_updates, op, open_end, route, schema_evolution, track_history, track_history_except, widen_to_text"
        ),
        ("reader:\n  chunk_row: 10", "reader.chunk_row", "chunk_bytes, chunk_rows, max_field_bytes"),
        (
            "tasks:\n  - name: t\n    schedule: 1 minute\n    sql: SELECT 1\n    retry: 3", "tasks.0.retry",
            "after, days, entity, name, on_data, retries, schedule, sql, suspend_after_failures, when"
        ),
        ("tasks:\n  - name: retention\n    day: 3", "tasks.0.day", "after, days"),
    ])
    func unknownKeysAreErrorsNamingTheirPath(yaml: String, path: String, known: String) {
        let message = error(yaml)
        #expect(message?.contains("unknown key \(path) in firn.yaml") == true, "\(message ?? "accepted")")
        #expect(message?.contains("known keys here: \(known)") == true, "\(message ?? "accepted")")
    }

    @Test(arguments: [
        ("reader: { chunk_rows: 0 }", "reader.chunk_rows", "1 to 1000000"),
        ("reader: { chunk_rows: 1000000001 }", "reader.chunk_rows", "1 to 1000000"),
        ("reader: { max_field_bytes: -1 }", "reader.max_field_bytes", "1 to 1073741824"),
        ("reader: { max_field_bytes: 9223372036854775807 }", "reader.max_field_bytes", "1 to 1073741824"),
        ("tasks: [{ name: retention, days: 0 }]", "tasks.0.days", "1 to 36500"),
        ("tasks: [{ name: retention, days: 9223372036854775807 }]", "tasks.0.days", "1 to 36500"),
        ("tasks: [{ name: t, on_data: true, sql: SELECT 1, retries: -1 }]", "tasks.0.retries", "0 to 100"),
        (
            "tasks: [{ name: t, on_data: true, sql: SELECT 1, retries: 9223372036854775807 }]", "tasks.0.retries",
            "0 to 100"
        ),
        (
            "tasks: [{ name: t, on_data: true, sql: SELECT 1, suspend_after_failures: 0 }]",
            "tasks.0.suspend_after_failures", "1 to 10000"
        ),
        (
            "tasks: [{ name: load, suspend_after_failures: 9223372036854775807 }]", "tasks.0.suspend_after_failures",
            "1 to 10000"
        ),
    ])
    func numbersOutOfRangeNameTheKeyAndTheRange(yaml: String, key: String, range: String) {
        let message = error(yaml)
        #expect(message?.contains("firn.yaml") == true, "\(message ?? "accepted")")
        #expect(message?.contains(key) == true, "\(message ?? "accepted")")
        #expect(message?.contains(range) == true, "\(message ?? "accepted")")
    }

    @Test func theIngestSectionIsRead() throws {
        let settings = try FirnSettings.parse(
            yaml: """
                ingest:
                  key_template: "flat/{name}"
                  after_upload: delete
                  max_attempts: 9
                  max_files_in_flight: 2
                  max_bytes_in_flight: 1048576
                  rescan_interval: 0.5
                  stability_interval: 0
                """
        )
        var configuration = IngestConfiguration(landingDirectory: "/l", dataDirectory: "/d")
        settings.ingest.apply(to: &configuration)
        #expect(configuration.keyTemplate.text == "flat/{name}")
        #expect(configuration.afterUpload == .delete)
        #expect(configuration.maxAttempts == 9 && configuration.maxFilesInFlight == 2)
        #expect(configuration.maxBytesInFlight == 1 << 20)
        #expect(configuration.rescanInterval == .milliseconds(500) && configuration.stabilityInterval == .zero)
        #expect(FirnSettings().ingest == IngestSettings())
    }

    @Test(arguments: [
        ("ingest: { max_attempt: 3 }", "unknown key ingest.max_attempt"),
        ("ingest: { max_attempts: 0 }", "ingest.max_attempts must be 1 to 100"),
        ("ingest: { max_files_in_flight: 1000 }", "ingest.max_files_in_flight must be 1 to 64"),
        ("ingest: { max_bytes_in_flight: -1 }", "ingest.max_bytes_in_flight must be 1 to 68719476736"),
        ("ingest: { rescan_interval: 1e300 }", "ingest.rescan_interval must be 0.01 to 3600"),
        ("ingest: { stability_interval: -1 }", "ingest.stability_interval must be 0 to 3600"),
        ("ingest: { after_upload: keep }", "ingest.after_upload is archive or delete"),
        ("ingest: { key_template: \"{yyyy}/x.csv\" }", "must contain {name}"),
    ])
    func badIngestSettingsAreRefused(yaml: String, expected: String) {
        let message = error(yaml)
        #expect(message?.contains(expected) == true, "\(message ?? "accepted")")
    }

    @Test func numbersAtTheirBoundsAreAccepted() throws {
        let settings = try FirnSettings.parse(
            yaml: """
                reader: { chunk_rows: 1000000, max_field_bytes: 1 }
                tasks:
                  - { name: retention, days: 36500 }
                  - { name: t, on_data: true, sql: SELECT 1, retries: 100, suspend_after_failures: 10000 }
                """
        )
        #expect(settings.reader.chunkRows == 1_000_000 && settings.reader.maxFieldBytes == 1)
        #expect(settings.tasks[1].action == .retention(days: 36500))
        #expect(settings.tasks[2].retries == 100 && settings.tasks[2].suspendAfterFailures == 10000)
    }

    @Test(arguments: [
        "bucket: s3://AKIAEXAMPLE:hunter2secret@firn/changes",
        "bucket: s3://hunter2secret@firn/changes",
        "bucket: s3://firn/changes?endpoint=http://minio:hunter2secret@127.0.0.1:9000",
        "bucket: 's3://firn/changes?endpoint=http://127.0.0.1:9000&X-Amz-Signature=hunter2secret'",
        "bucket: 's3://firn/changes?endpoint=http%3A%2F%2Fminio%3Ahunter2secret%40127.0.0.1%3A9000'",
        "warehouse: mysql://firn:hunter2secret@db.example/firn",
        "warehouse: 'postgres://firn:hunter2secret@db.example/firn?sslmode=allow'",
    ])
    func urlsWithCredentialsAreRefusedWithoutEchoingThem(yaml: String) {
        let message = error(yaml)
        #expect(message != nil, "accepted \(yaml)")
        #expect(message?.contains("hunter2secret") == false, "\(message ?? "")")
    }

    /// A PostgreSQL URL may carry its password (it is the user's file), which no description shows.
    @Test func aPostgresWarehouseKeepsItsPasswordOutOfEveryDescription() throws {
        let settings = try FirnSettings.parse(yaml: "warehouse: postgres://firn:hunter2secret@db.example/firn")
        guard case .postgres(let location) = settings.resolvedWarehouse else {
            Issue.record("not a PostgreSQL warehouse: \(settings.resolvedWarehouse)")
            return
        }
        #expect(location.password == "hunter2secret")
        #expect(location.host == "db.example" && location.database == "firn")
        #expect(!settings.resolvedWarehouse.description.contains("hunter2secret"))
    }

    @Test func credentialsInTheBucketURLPointToTheEnvironment() {
        let message = error("bucket: s3://AKIAEXAMPLE:hunter2secret@firn/changes")
        #expect(message?.contains("AWS_ACCESS_KEY_ID") == true, "\(message ?? "accepted")")
    }
}
