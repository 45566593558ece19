import Foundation
import GRDB

/// One labeler's judgement of one prompt: the responses shown, their order from best to worst,
/// and optionally a better response the labeler wrote (a demonstration for SFT).
public struct Judgement: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public var id: Int64?
    public var prompt: String
    public var responses: [String]
    /// Indices into `responses`, best first: a permutation of `0..<responses.count`.
    public var ranking: [Int]
    public var labeler: String
    public var demonstration: String?
    /// Where the responses came from (`candidates:<n>` for a candidates file line, `model:<id>`).
    public var source: String?
    public var createdAt: Date

    public static let databaseTableName = "judgement"

    public init(id: Int64? = nil, prompt: String, responses: [String], ranking: [Int], labeler: String,
                demonstration: String? = nil, source: String? = nil, createdAt: Date = Date()) {
        self.id = id
        self.prompt = prompt
        self.responses = responses
        self.ranking = ranking
        self.labeler = labeler
        self.demonstration = demonstration
        self.source = source
        self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Checks what a page (or a script) sent; the message names the field.
    public func validate() throws(ServingError) {
        if prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw .invalidRequest("`prompt` must not be empty.", param: "prompt")
        }
        let trimmedLabeler = labeler.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmedLabeler.isEmpty || trimmedLabeler.count > 100 {
            throw .invalidRequest("`labeler` must be 1 to 100 characters.", param: "labeler")
        }
        let hasDemonstration = !(demonstration ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        if responses.count < 2 && !hasDemonstration {
            throw .invalidRequest("A judgement needs at least 2 responses to rank, or a written response.",
                                  param: "responses")
        }
        if ranking.sorted() != Array(responses.indices) {
            throw .invalidRequest("`ranking` must be a permutation of 0..<\(responses.count) (best first), got \(ranking).",
                                  param: "ranking")
        }
    }
}

/// Judgements in SQLite (through GRDB), schema managed by migrations.
public final class FeedbackStore: Sendable {
    let database: DatabaseQueue

    /// Opens (creating if needed) the database file and brings its schema up to date.
    public init(path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = try DatabaseQueue(path: path)
        try Self.migrator.migrate(database)
    }

    /// A private in-memory database (tests).
    public init() throws {
        database = try DatabaseQueue()
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: judgements") { db in
            try db.create(table: "judgement") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("prompt", .text).notNull()
                t.column("responses", .jsonText).notNull()
                t.column("ranking", .jsonText).notNull()
                t.column("labeler", .text).notNull().indexed()
                t.column("demonstration", .text)
                t.column("createdAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v2: judgement source") { db in
            // Which candidate line or model produced the responses, so a labeler is not shown
            // the same candidate twice.
            try db.alter(table: "judgement") { t in t.add(column: "source", .text) }
            try db.create(index: "judgement_labeler_source", on: "judgement", columns: ["labeler", "source"])
        }
        return migrator
    }

    /// Validates and stores a judgement; returns it with its id.
    @discardableResult
    public func save(_ judgement: Judgement) async throws -> Judgement {
        try judgement.validate()
        return try await database.write { db in
            var stored = judgement
            try stored.insert(db)
            return stored
        }
    }

    /// Every judgement, oldest first.
    public func judgements() async throws -> [Judgement] {
        try await database.read { db in try Judgement.order(Column("id")).fetchAll(db) }
    }

    /// Sources this labeler has already judged.
    public func judgedSources(labeler: String) async throws -> Set<String> {
        try await database.read { db in
            Set(try String.fetchAll(db, sql: "SELECT source FROM judgement WHERE labeler = ? AND source IS NOT NULL",
                                    arguments: [labeler]))
        }
    }

    public struct Counts: Codable, Sendable, Equatable {
        public var judgements: Int
        public var labelers: Int
        public var demonstrations: Int
    }

    public func counts() async throws -> Counts {
        try await database.read { db in
            Counts(
                judgements: try Judgement.fetchCount(db),
                labelers: try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT labeler) FROM judgement") ?? 0,
                demonstrations: try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM judgement WHERE demonstration IS NOT NULL AND demonstration != ''") ?? 0)
        }
    }
}
