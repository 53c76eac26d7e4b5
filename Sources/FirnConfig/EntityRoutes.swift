#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FirnCore

/// Which files belong to an entity, when a config lists several (`entities:`, each with
/// `route:`): a landing sub-folder (`customers/`) or a file-name pattern (`orders-*.jsonl`).
///
/// A route matches a file by its path or object key, with `/` between folders:
/// - ending in `/`, a folder: the key has it as a folder (`customers/` matches
///   `customers/a.csv` and `2026/12/03/customers/a.csv`, not `old-customers/a.csv`);
/// - otherwise a shell pattern (`*`, `?`, `[…]`, as `fnmatch(3)` reads them) matched against the
///   file's name, or, when it holds a `/`, against the key's end from a folder boundary on
///   (`eu/orders-*.jsonl`).
public struct FileRoute: Sendable, Hashable, CustomStringConvertible {
    /// The route as written.
    public let pattern: String

    /// A route, checked.
    ///
    /// - Throws: ``ConfigurationError`` for an empty route, one that starts with `/` (keys and
    ///   landing paths are relative), one with an empty, `.` or `..` folder, or a folder route
    ///   with a wildcard (ingest watches a folder route's landing sub-folder).
    public init(validating pattern: String) throws(ConfigurationError) {
        guard !pattern.isEmpty, pattern != "/" else { throw .invalid("a route may not be empty") }
        guard !pattern.hasPrefix("/") else {
            throw .invalid("route \(pattern) starts with /: routes match paths inside the landing directory or bucket")
        }
        let folders = pattern.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        guard !folders.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw .invalid("route \(pattern): a folder in it is empty, . or ..; name folders inside the landing directory")
        }
        if pattern.hasSuffix("/"), pattern.contains(where: { "*?[".contains($0) }) {
            throw .invalid("route \(pattern): a folder route names one folder (no *, ? or [); use a pattern for names")
        }
        self.pattern = pattern
    }

    /// The landing sub-folder ingest watches for this route: a folder route's folder, or the
    /// folders of a pattern with a `/` when they hold no wildcard (`eu` for `eu/*.csv`); `nil`
    /// for a plain name pattern (files in the landing directory itself) or a pattern whose
    /// folders are wildcards, which only objects put into the bucket can match.
    public var landingFolder: String? {
        guard let slash = pattern.lastIndex(of: "/") else { return nil }
        let folder = String(pattern[..<slash])
        return folder.contains(where: { "*?[".contains($0) }) ? nil : folder
    }

    public var description: String { pattern }

    /// Whether the file with this path or object key belongs to the route.
    public func matches(_ key: String) -> Bool {
        let key = key.hasPrefix("/") ? key : "/" + key
        if pattern.hasSuffix("/") {
            return key.dropLast(key.split(separator: "/").last.map { $0.count } ?? 0).contains("/" + pattern)
        }
        guard pattern.contains("/") else {
            let name = key.split(separator: "/").last.map(String.init) ?? key
            return fnmatch(pattern, name, 0) == 0
        }
        // Every end of the key that starts after a `/`.
        var index = key.startIndex
        while let slash = key[index...].firstIndex(of: "/") {
            let rest = String(key[key.index(after: slash)...])
            if fnmatch(pattern, rest, FNM_PATHNAME) == 0 { return true }
            index = key.index(after: slash)
        }
        return false
    }
}

/// An entity of a config that lists several, with the routes of its files.
public struct RoutedEntity: Sendable, Hashable {
    /// The entity.
    public var entity: EntityConfiguration
    /// Its files' routes; empty only when it is the config's one entity.
    public var routes: [FileRoute]

    /// Creates one.
    public init(entity: EntityConfiguration, routes: [FileRoute]) {
        self.entity = entity
        self.routes = routes
    }
}

extension FirnSettings {
    /// Every entity the config names (the built-in customer when it names none), in order.
    public var allEntities: [EntityConfiguration] {
        entities.isEmpty ? [entity] : entities.map(\.entity)
    }

    /// The entity a command is about: the one named, or the config's only one.
    ///
    /// - Throws: ``ConfigurationError`` for a name the config does not list, or no name when it
    ///   lists several.
    public func entity(named name: String?) throws(ConfigurationError) -> EntityConfiguration {
        let all = allEntities
        let names = all.map(\.name.normalized).joined(separator: ", ")
        guard let name else {
            guard all.count == 1 else {
                throw .invalid("the config lists entities \(names): name one with --entity")
            }
            return all[0]
        }
        guard let found = all.first(where: { $0.name.normalized == name.lowercased() }) else {
            throw .invalid("entity \(name) is not in the config (it lists \(names))")
        }
        return found
    }

    /// The entity a file belongs to, by its path or object key: the config's only entity, or
    /// the first whose route matches; `nil` when the config lists several and none matches.
    public func entity(routing key: String) -> EntityConfiguration? {
        guard !entities.isEmpty else { return entity }
        if entities.count == 1, entities[0].routes.isEmpty { return entities[0].entity }
        return entities.first { $0.routes.contains { $0.matches(key) } }?.entity
    }

    /// The index in ``allEntities`` of the entity a file belongs to (see ``entity(routing:)``).
    public func entityIndex(routing key: String) -> Int? {
        guard let entity = entity(routing: key) else { return nil }
        return allEntities.firstIndex { $0.name == entity.name }
    }

    /// The landing sub-folders of the entities routed by folder (`customers` for the route
    /// `customers/`), in order, each once.
    public var routedFolders: [String] {
        var folders: [String] = []
        for folder in entities.flatMap(\.routes).compactMap(\.landingFolder) where !folders.contains(folder) {
            folders.append(folder)
        }
        return folders
    }

    /// Whether files are routed to entities: the config lists entities with routes (several,
    /// or one whose route says which files are its).
    public var isRouted: Bool {
        entities.contains { !$0.routes.isEmpty }
    }

    /// Where a route of an entity listed earlier may take files a later entity's folder route
    /// names (the first entity listed wins): each later folder route with the earlier name
    /// patterns that match files anywhere (`*.csv` takes `customers/a.csv`), as lines to warn
    /// with.
    public var shadowedRoutes: [String] {
        var lines: [String] = []
        for (index, later) in entities.enumerated() {
            for route in later.routes where route.pattern.hasSuffix("/") {
                let earlier = entities[..<index].flatMap { routed in
                    routed.routes.filter { !$0.pattern.contains("/") }.map { "\($0) (\(routed.entity.name))" }
                }
                guard !earlier.isEmpty else { continue }
                lines.append(
                    "route \(route) (\(later.entity.name)): files in it that \(earlier.joined(separator: ", ")) match go to "
                        + "that entity, listed first; list \(later.entity.name) first, or narrow the pattern"
                )
            }
        }
        return lines
    }

    /// Routes no landing folder serves (their folders hold wildcards): only objects put into
    /// the bucket by something else match them.
    public var routesWithoutLandingFolder: [FileRoute] {
        entities.flatMap(\.routes).filter { $0.pattern.contains("/") && $0.landingFolder == nil }
    }

    /// The landing directory a file named `name` lands in for `entity`: its routed folder,
    /// else the landing directory itself when a route there matches the name; `nil` when none.
    public func landingDirectory(of entity: EntityConfiguration, forFileNamed name: String) -> String? {
        guard isRouted else { return resolvedLandingDirectory }
        guard let routed = entities.first(where: { $0.entity.name == entity.name }) else { return nil }
        // The first folder where a file of this name goes to this entity (an earlier entity's
        // route may take it first), else the landing directory itself.
        for folder in routed.routes.compactMap(\.landingFolder)
        where self.entity(routing: folder + "/" + name)?.name == entity.name {
            return resolvedLandingDirectory + "/" + folder
        }
        return self.entity(routing: name)?.name == entity.name ? resolvedLandingDirectory : nil
    }

    /// Every route, as messages list them: `customers/ (customer), orders-*.jsonl (orders)`.
    public var routeList: String {
        entities.flatMap { routed in routed.routes.map { "\($0) (\(routed.entity.name))" } }.joined(separator: ", ")
    }
}
