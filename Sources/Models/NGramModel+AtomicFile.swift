import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Atomic file replacement for the n-gram files: write a temporary file beside the target,
/// fsync it, then rename over the target, so a crash leaves either the old or the new file.
enum NGramAtomicFile {
    static func write(_ bytes: [UInt8], to url: URL) throws {
        let path = url.path
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw NGramError.io(path: path, reason: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                let reason = String(cString: strerror(errno))
                close(fd); unlink(temporary)
                throw NGramError.io(path: path, reason: "write failed: \(reason)")
            }
            written += n
        }
        guard fsync(fd) == 0, close(fd) == 0 else {
            unlink(temporary)
            throw NGramError.io(path: path, reason: "fsync/close failed: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw NGramError.io(path: path, reason: "rename failed: \(reason)")
        }
    }
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
