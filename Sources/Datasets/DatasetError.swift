/// A bad input file or record: where it is (file, line, field) and what is wrong with it.
public struct DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line of a JSONL record; nil for whole-file problems.
    public var line: Int?
    /// The offending field, as a path like `messages[1].role`; nil when not about one field.
    public var field: String?
    public var reason: String

    public init(file: String, line: Int? = nil, field: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let field { return "\(location): field \"\(field)\": \(reason)" }
        return "\(location): \(reason)"
    }
}

/// Whether a loader stops at the first bad record (the default) or skips bad records and
/// reports each one in `LoadedRecords.skipped`.
public struct LoadOptions: Sendable, Equatable {
    public var lenient: Bool

    public init(lenient: Bool = false) {
        self.lenient = lenient
    }

    public static let strict = LoadOptions()
}

/// Records read from a file, and the bad records skipped (only when loading leniently).
public struct LoadedRecords<Record: Sendable>: Sendable {
    public var records: [Record]
    /// One entry per skipped record, with its file, line, field and reason.
    public var skipped: [DatasetError]

    public init(records: [Record] = [], skipped: [DatasetError] = []) {
        self.records = records
        self.skipped = skipped
    }

    public var skippedCount: Int { skipped.count }

    /// Appends another file's result.
    public mutating func append(_ other: LoadedRecords<Record>) {
        records += other.records
        skipped += other.skipped
    }
}
