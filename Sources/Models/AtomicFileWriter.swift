import Foundation
#if canImport(Glibc)
    import Glibc
    private let posixWrite = Glibc.write
    private let posixRename = Glibc.rename
#elseif canImport(Darwin)
    import Darwin
    private let posixWrite = Darwin.write
    private let posixRename = Darwin.rename
#endif

/// Crash-safe file replacement: write a temporary file in the destination's directory, fsync it,
/// rename it over the destination, fsync the directory.
///
/// `rename(2)` within one directory is atomic, so a reader (or a process restarted after
/// `kill -9` or a power cut) sees either the complete old file or the complete new one, never a
/// prefix. The directory fsync makes the rename itself durable.
public enum AtomicFileWriter {
    /// Prefix of every temporary file this type creates; anything starting with it is garbage
    /// left by an interrupted write and may be deleted.
    public static let temporaryPrefix = ".tmp-"

    /// Atomically replaces (or creates) `url` with `data`.
    public static func write(_ data: Data, to url: URL) throws(AtomicFileError) {
        let temporary = temporaryURL(for: url)
        try writeDurably(data, to: temporary)
        try rename(temporary, to: url)
        try syncDirectory(url.deletingLastPathComponent())
    }

    /// A fresh temporary path next to `url` (same directory, so the rename stays atomic).
    public static func temporaryURL(for url: URL, tag: String? = nil) -> URL {
        let unique = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let name = "\(temporaryPrefix)\(tag.map { "\($0)-" } ?? "")\(unique)-\(url.lastPathComponent)"
        return url.deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Writes `data` to a new file at `url` (which must not exist) and fsyncs it; no rename.
    public static func writeDurably(_ data: Data, to url: URL) throws(AtomicFileError) {
        let path = url.path
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFileError(operation: "create", path: path, errno: errno) }
        var failure: AtomicFileError?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = AtomicFileError(operation: "write", path: path, errno: errno)
                    return
                }
                offset += n
            }
        }
        if failure == nil && fsync(fd) != 0 {
            failure = AtomicFileError(operation: "fsync", path: path, errno: errno)
        }
        close(fd)
        if let failure {
            unlink(path)
            throw failure
        }
    }

    /// `rename(2)`: atomically replaces `destination` with `source` (same file system).
    public static func rename(_ source: URL, to destination: URL) throws(AtomicFileError) {
        guard posixRename(source.path, destination.path) == 0 else {
            throw AtomicFileError(
                operation: "rename to \(destination.lastPathComponent)", path: source.path, errno: errno)
        }
    }

    /// fsyncs a directory so that renames and unlinks in it survive a crash.
    public static func syncDirectory(_ directory: URL) throws(AtomicFileError) {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AtomicFileError(operation: "open directory", path: directory.path, errno: errno)
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw AtomicFileError(operation: "fsync directory", path: directory.path, errno: errno)
        }
    }

    /// Deletes leftover temporary files (names starting with `temporaryPrefix` + `tag`) in
    /// `directory`; returns what was removed.
    @discardableResult
    public static func removeTemporaries(in directory: URL, tag: String? = nil) -> [URL] {
        let prefix = temporaryPrefix + (tag.map { "\($0)-" } ?? "")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var removed: [URL] = []
        for name in names.sorted() where name.hasPrefix(prefix) {
            let url = directory.appendingPathComponent(name)
            if unlink(url.path) == 0 { removed.append(url) }
        }
        if !removed.isEmpty { try? syncDirectory(directory) }
        return removed
    }
}

public struct AtomicFileError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var path: String
    public var code: Int32

    public init(operation: String, path: String, errno code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String {
        "cannot \(operation) \(path): \(String(cString: strerror(code)))"
    }

    /// `error` from writing `file` as a plain message naming the file: Foundation's file errors
    /// (`NSCocoaErrorDomain` 640 "out of space", 513 "no permission", …, or an underlying POSIX
    /// error) become an `AtomicFileError` with the matching `errno`, whose description is
    /// "cannot write <file>: No space left on device". Other errors are returned unchanged.
    public static func plain(_ error: any Error, writing file: URL) -> any Error {
        if error is AtomicFileError { return error }
        let ns = error as NSError
        let path =
            ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
            ?? file.path
        if ns.domain == NSPOSIXErrorDomain {
            return AtomicFileError(operation: "write", path: path, errno: Int32(ns.code))
        }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain
        {
            return AtomicFileError(operation: "write", path: path, errno: Int32(underlying.code))
        }
        guard ns.domain == NSCocoaErrorDomain else { return error }
        let code: Int32? =
            switch ns.code {
            case CocoaError.fileWriteOutOfSpace.rawValue: ENOSPC
            case CocoaError.fileWriteNoPermission.rawValue, CocoaError.fileReadNoPermission.rawValue: EACCES
            case CocoaError.fileWriteVolumeReadOnly.rawValue: EROFS
            case CocoaError.fileNoSuchFile.rawValue, CocoaError.fileReadNoSuchFile.rawValue: ENOENT
            case CocoaError.fileWriteFileExists.rawValue: EEXIST
            case CocoaError.fileWriteInvalidFileName.rawValue: EINVAL
            default: nil
            }
        return code.map { AtomicFileError(operation: "write", path: path, errno: $0) } ?? error
    }
}
