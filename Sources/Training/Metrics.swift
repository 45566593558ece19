import Foundation
import Models
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Appends one JSON object per logged step to `metrics.jsonl`.
///
/// Each record is one `write(2)` of one line with `O_APPEND`, so it reaches the file (the page
/// cache) before `append` returns and survives `kill -9` of the process; a crash can at worst cut
/// the last line, which `read` skips. Keys: `step` first, then the rest in sorted order.
public final class MetricsLog {
    public let url: URL
    private let fd: Int32

    /// Opens (creating if needed) the log. On resume pass the checkpoint's step:
    /// records of later steps (logged after the checkpoint, before a crash) are dropped, so the
    /// file continues without duplicate steps.
    ///
    /// Cutting the file is an atomic replacement through a temporary beside it; one left by a
    /// process killed in the middle (`.tmp-…-metrics.jsonl`) is deleted here first.
    public init(url: URL, keepingStepsThrough lastStep: Int? = nil) throws {
        self.url = url
        Self.removeStaleTemporaries(of: url)
        if let lastStep, FileManager.default.fileExists(atPath: url.path) {
            let kept = try Self.lines(url).filter { line in
                guard
                    case .object(let o)? = try? JSONDecoder.trainerState.decode(
                        JSONValue.self, from: Data(line.utf8)),
                    let step = o["step"]?.intValue
                else { return false }
                return step <= lastStep
            }
            try AtomicFileWriter.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: url)
        }
        fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw AtomicFileError(operation: "open for appending", path: url.path, errno: errno)
        }
    }

    deinit { close(fd) }

    /// Deletes temporaries of `url` left by an interrupted replacement: names starting with
    /// `AtomicFileWriter.temporaryPrefix` and ending with `-<file name>`.
    static func removeStaleTemporaries(of url: URL) {
        let directory = url.deletingLastPathComponent()
        let suffix = "-" + url.lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(AtomicFileWriter.temporaryPrefix) && name.hasSuffix(suffix) {
            unlink(directory.appendingPathComponent(name).path)
        }
    }

    /// Logs one record; `step` is stored under the key "step".
    public func append(step: Int, _ values: [String: JSONValue]) throws {
        var fields = values
        fields["step"] = nil
        var parts = ["\"step\":\(step)"]
        for key in fields.keys.sorted() {
            let value = try JSONEncoder.metricsLine.encode(fields[key]!)
            let name = try JSONEncoder.metricsLine.encode(key)
            parts.append("\(String(decoding: name, as: UTF8.self)):\(String(decoding: value, as: UTF8.self))")
        }
        let line = Array(("{" + parts.joined(separator: ",") + "}\n").utf8)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        guard written == line.count else {
            throw AtomicFileError(operation: "append to", path: url.path, errno: errno)
        }
    }

    /// Convenience for numeric metrics.
    public func append(step: Int, metrics: [String: Double]) throws {
        try append(step: step, metrics.mapValues { JSONValue.number($0) })
    }

    /// All complete records (an unparsable last line from a crash is skipped).
    public static func read(_ url: URL) throws -> [[String: JSONValue]] {
        try lines(url).compactMap { line in
            guard
                case .object(let o)? = try? JSONDecoder.trainerState.decode(
                    JSONValue.self, from: Data(line.utf8))
            else { return nil }
            return o
        }
    }

    private static func lines(_ url: URL) throws -> [String] {
        String(decoding: try Data(contentsOf: url), as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

extension JSONEncoder {
    /// One-line JSON; NaN/inf as strings (a diverging loss must still be logged).
    static var metricsLine: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }
}

extension JSONValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral
{
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    /// The value as an integer, if it is one (integral numbers included).
    public var intValue: Int? {
        switch self {
        case .integer(let i): Int(exactly: i)
        case .unsignedInteger(let u): Int(exactly: u)
        case .number(let d): Int(exactly: d)
        default: nil
        }
    }

    /// The value as a Double, if it is a number (also "nan"/"inf" strings as written for floats).
    public var doubleValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .unsignedInteger(let u): Double(u)
        case .number(let d): d
        case .string("nan"): .nan
        case .string("inf"): .infinity
        case .string("-inf"): -.infinity
        default: nil
        }
    }
}
