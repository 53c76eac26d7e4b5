import FirnConfig
import FirnCore
import Testing

/// `entities:` in the config: each entity with the routes of its files.
@Suite struct EntityRoutesTests {
    static let twoEntities = """
        entities:
          - route: customers/
          - name: orders
            keys: [{ name: order_id, type: integer }]
            attributes: [{ name: amount, type: decimal }]
            route: [orders/, "orders-*.jsonl", "eu/*.csv"]
        """

    @Test func filesGoToTheEntityWhoseRouteMatches() throws {
        let settings = try FirnSettings.parse(yaml: Self.twoEntities)
        #expect(settings.allEntities.map(\.name) == ["customer", "orders"])
        #expect(settings.entity == .customer)
        let cases: [(String, String?)] = [
            ("customers/a.csv", "customer"), ("landing/customers/a.csv", "customer"),
            ("2026/12/03/customers/a.csv", "customer"), ("old-customers/a.csv", nil), ("customers.csv", nil),
            ("orders/x.jsonl", "orders"), ("orders-7.jsonl", "orders"), ("in/orders-7.jsonl", "orders"),
            ("orders-7.csv", nil), ("eu/a.csv", "orders"), ("data/eu/a.csv", "orders"), ("eu/sub/a.csv", nil),
            ("a.csv", nil),
        ]
        for (key, expected) in cases {
            #expect(settings.entity(routing: key)?.name.normalized == expected, "\(key)")
        }
        #expect(try settings.entity(named: "ORDERS").name == "orders")
        #expect(throws: ConfigurationError.self) { try settings.entity(named: nil) }
        #expect(settings.routeList == "customers/ (customer), orders/ (orders), orders-*.jsonl (orders), eu/*.csv (orders)")
    }

    /// What `firn run` needs to carry several entities: the folders ingest watches, where the
    /// generator's files land, and the entity a task is about.
    @Test func foldersLandingAndTasksOfSeveralEntities() throws {
        let settings = try FirnSettings.parse(
            yaml: Self.twoEntities + """

                tasks:
                  - name: order_totals
                    on_data: true
                    when: stream_has_data
                    entity: orders
                    sql: SELECT 1
                """
        )
        // A pattern's folders are watched too when they are plain (`eu/*.csv`).
        #expect(settings.routedFolders == ["customers", "orders", "eu"])
        #expect(settings.isRouted && settings.routesWithoutLandingFolder.isEmpty)
        #expect(settings.entityIndex(routing: "2026/12/03/orders/a.csv") == 1)
        #expect(settings.entityIndex(routing: "a.csv") == nil)
        let landing = settings.resolvedLandingDirectory
        #expect(settings.landingDirectory(of: .customer, forFileNamed: "customers-000000.csv") == landing + "/customers")
        #expect(settings.tasks.first { $0.name == "order_totals" }?.entity == "orders")

        let byName = try FirnSettings.parse(
            yaml: "entities:\n  - route: \"customers-*.csv\"\n  - name: o\n    keys: [{ name: id }]\n    attributes: [{ name: x }]\n    route: o/\n"
        )
        #expect(byName.landingDirectory(of: .customer, forFileNamed: "customers-000000.csv") == landing)
        #expect(byName.landingDirectory(of: .customer, forFileNamed: "other.csv") == nil)
        #expect(FirnSettings().landingDirectory(of: .customer, forFileNamed: "x") == landing)

        // One entity with a route is routed too: files its route does not take are refused.
        let one = try FirnSettings.parse(yaml: "entities:\n  - route: customers/\n")
        #expect(one.isRouted && one.entityIndex(routing: "stray.csv") == nil)
        #expect(one.landingDirectory(of: .customer, forFileNamed: "customers-000000.csv") == landing + "/customers")

        // An earlier entity's route takes the generated names in the customer's folder: the
        // folder is not where they go.
        let shadowed = try FirnSettings.parse(
            yaml: "entities:\n  - name: o\n    keys: [{ name: id }]\n    attributes: [{ name: x }]\n    route: \"*.csv\"\n  - route: customers/\n"
        )
        #expect(shadowed.landingDirectory(of: .customer, forFileNamed: "customers-000000.csv") == nil)
        #expect(
            shadowed.shadowedRoutes == [
                "route customers/ (customer): files in it that *.csv (o) match go to that entity, listed first; "
                    + "list customer first, or narrow the pattern"
            ]
        )
        #expect(settings.shadowedRoutes.isEmpty, "customers/ is listed first")
        let wild = try FirnSettings.parse(yaml: "entities:\n  - route: \"*/c-*.csv\"\n")
        #expect(wild.routedFolders.isEmpty && wild.routesWithoutLandingFolder.map(\.pattern) == ["*/c-*.csv"])
    }

    @Test func oneEntityNeedsNoRoute() throws {
        let one = try FirnSettings.parse(yaml: "entities:\n  - deletes: record\n")
        #expect(one.entity(routing: "anything.csv")?.deletes == .record)
        #expect(try one.entity(named: nil).name == "customer")
        let none = FirnSettings()
        #expect(none.entity(routing: "x/y.csv") == .customer)
        #expect(none.allEntities == [.customer])
    }

    @Test(arguments: [
        ("entity: {}\nentities:\n  - route: a/\n", "give entity (one) or entities (a list), not both"),
        ("entity:\n  route: a/\n", "entity.route: routes are for a list of entities"),
        ("entities: []\n", "entities is empty"),
        (
            "entities:\n  - route: a/\n  - name: o\n    keys: [{ name: id }]\n    attributes: [{ name: x }]\n",
            "entities[1]: entity o has no route"
        ),
        ("entities:\n  - route: a/\n  - route: b/\n", "entities[1]: entity customer is listed twice"),
        ("entities:\n  - route: /abs/\n", "entities[0].route: route /abs/ starts with /"),
        ("entities:\n  - route: ../up/\n", "route ../up/: a folder in it is empty, . or .."),
        ("entities:\n  - route: \"a//b.csv\"\n", "route a//b.csv: a folder in it is empty, . or .."),
        ("entities:\n  - route: \"cust*/\"\n", "route cust*/: a folder route names one folder"),
        (
            "entities:\n  - route: a/\ntasks:\n  - name: t\n    on_data: true\n    entity: nope\n    sql: SELECT 1\n",
            "task t: entity nope is not in the config (it lists customer)"
        ),
        ("tasks:\n  - name: retention\n    entity: customer\n", "task retention: entity applies to SQL tasks"),
    ])
    func refusedConfigsSayWhy(yaml: String, message: String) {
        let error = ConfigStrictnessTests().error(yaml)
        #expect(error?.contains(message) == true, "\(String(describing: error))")
    }
}
