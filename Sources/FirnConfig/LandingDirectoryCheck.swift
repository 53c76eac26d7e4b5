import FirnCore
import FirnObjectStore
import Foundation

extension FirnSettings {
    /// Refuses a landing directory that is, or contains, the data directory, the warehouse file
    /// or a directory bucket: ingest takes every file in it, so it would upload and archive
    /// Firn's own files (the warehouse among them) and leave the next command an empty warehouse.
    ///
    /// Paths are compared after resolving symbolic links of the parts that exist, so another
    /// spelling of the same directory is caught too. A landing directory inside the data
    /// directory (the default, `<data-dir>/landing`) is fine.
    ///
    /// Ingest claims a file by renaming it into `<data-dir>/ingest-processing`, which works only
    /// within one file system: a landing directory on another is refused too, instead of every
    /// claim failing.
    ///
    /// - Throws: ``ConfigurationError`` naming both paths.
    public func checkLandingDirectory() throws(ConfigurationError) {
        let landing = Self.canonical(resolvedLandingDirectory)
        var guarded: [(what: String, path: String)] = [("the data directory", dataDirectory)]
        if case .sqlite(let path) = resolvedWarehouse { guarded.append(("the warehouse", path)) }
        if case .directory(let path) = resolvedBucket { guarded.append(("the bucket", path)) }
        for (what, path) in guarded {
            let other = Self.canonical(path)
            if other == landing || other.hasPrefix(landing.hasSuffix("/") ? landing : landing + "/") {
                throw .invalid(
                    "landing directory \(resolvedLandingDirectory) is or contains \(what) (\(path)): ingest would "
                        + "upload and remove Firn's own files; choose a landing directory outside it (--landing)"
                )
            }
        }
        if let landingDevice = Self.device(resolvedLandingDirectory), let dataDevice = Self.device(dataDirectory),
            landingDevice != dataDevice
        {
            throw .invalid(
                "landing directory \(resolvedLandingDirectory) is on another file system than the data directory "
                    + "\(dataDirectory): ingest claims files by renaming them into the data directory; put both on one "
                    + "file system"
            )
        }
    }

    /// The device of the path's longest existing prefix.
    static func device(_ path: String) -> UInt64? {
        var existing = canonical(path)
        while !FileManager.default.fileExists(atPath: existing), existing != "/" {
            existing = (existing as NSString).deletingLastPathComponent
        }
        var status = stat()
        guard stat(existing, &status) == 0 else { return nil }
        return UInt64(status.st_dev)
    }

    /// An absolute path with symbolic links resolved in its longest existing prefix.
    static func canonical(_ path: String) -> String {
        var absolute = (path as NSString).expandingTildeInPath
        if !absolute.hasPrefix("/") {
            absolute = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(absolute)
        }
        var existing = (absolute as NSString).standardizingPath
        var rest: [String] = []
        while !FileManager.default.fileExists(atPath: existing), existing != "/" {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        var resolved = (existing as NSString).resolvingSymlinksInPath
        for part in rest { resolved = (resolved as NSString).appendingPathComponent(part) }
        return resolved
    }
}
