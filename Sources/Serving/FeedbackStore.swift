import Foundation
import Datasets
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

    public init(
        id: Int64? = nil, prompt: String, responses: [String], ranking: [Int], labeler: String,
        demonstration: String? = nil, source: String? = nil, createdAt: Date = Date()
    ) {
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

    /// Most responses one judgement may rank: K responses export as K(K-1)/2 pairs.
    public static let maxResponses = 16
    /// Longest `source` tag.
    public static let maxSourceLength = 200

    /// Checks what a page (or a script) sent; the message names the field.
    public func validate() throws(ServingError) {
        let trimmedLabeler = labeler.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmedLabeler.isEmpty || trimmedLabeler.count > 100 {
            throw .invalidRequest("`labeler` must be 1 to 100 characters.", param: "labeler")
        }
        if let source, source.count > Self.maxSourceLength {
            throw .invalidRequest(
                "`source` must be at most \(Self.maxSourceLength) characters.",
                param: "source")
        }
        try validateTrainingData()
    }

    /// The part of `validate` that decides whether the judgement is usable training data: the
    /// ranking rules of the JSONL loaders (`RankingRecord.validated`), at most `maxResponses`
    /// responses, and a written response when fewer than two responses are ranked.
    public func validateTrainingData() throws(ServingError) {
        func rejected(_ problem: RecordProblem) -> ServingError {
            let field = problem.field ?? "body"
            return .invalidRequest("`\(field)`: \(problem.reason).", param: field)
        }
        do throws(RecordProblem) {
            try RankingRecord.requireText(prompt, field: "prompt")
            guard responses.count <= Self.maxResponses else {
                throw RecordProblem(
                    field: "responses",
                    reason: "at most \(Self.maxResponses) responses can be ranked, got \(responses.count)")
            }
            if responses.count >= 2 {
                _ = try RankingRecord.validated(prompt: prompt, responses: responses, ranking: ranking)
                return
            }
            // Fewer than two responses: only the written response (SFT data) is usable.
            guard !(demonstration ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw RecordProblem(
                    field: "responses",
                    reason: "a judgement needs at least 2 responses to rank, or a written response")
            }
            for (i, response) in responses.enumerated() {
                try RankingRecord.requireText(response, field: "responses[\(i)]")
            }
            guard ranking.sorted() == Array(responses.indices) else {
                throw RecordProblem(
                    field: "ranking",
                    reason: "must be a permutation of 0..<\(responses.count), got \(ranking)")
            }
        } catch {
            throw rejected(error)
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

    /// Opens a database that must already exist, read-only (`rlhf feedback stats`, `export`): a
    /// mistyped path is an error naming it rather than a new, empty database.
    public init(existingAt path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
        else {
            throw FeedbackStoreError(
                path: path,
                reason: "no feedback database here (`rlhf serve` creates one)")
        }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            if try queue.read({ db in try Self.migrator.hasCompletedMigrations(db) }) {
                database = queue
            } else {
                // Written by an older version: bring the schema up to date (adds columns only).
                database = try DatabaseQueue(path: path)
                try Self.migrator.migrate(database)
            }
        } catch {
            throw FeedbackStoreError(path: path, reason: "cannot read it as a feedback database: \(error)")
        }
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
            Set(
                try String.fetchAll(
                    db, sql: "SELECT source FROM judgement WHERE labeler = ? AND source IS NOT NULL",
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
                    db,
                    sql:
                        "SELECT COUNT(*) FROM judgement WHERE demonstration IS NOT NULL AND demonstration != ''"
                ) ?? 0)
        }
    }
}

/// A feedback database that cannot be opened, with its path.
public struct FeedbackStoreError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
