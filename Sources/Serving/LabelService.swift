import Datasets
import Foundation
import Tokenizers

/// The JSON endpoints behind the `/label` page: what to rank next, sampling responses for a
/// prompt, and saving judgements.
///
/// Tasks come from a candidates file (`{"prompt", "responses": [...]}` per line) if one is given,
/// else from a prompts file (`{"prompt"}` per line) with `responsesPerTask` responses sampled from
/// the model; a labeler is not shown a task they have already judged.
public final class LabelService: Sendable {
    public let store: FeedbackStore
    public let engine: InferenceEngine?
    public let candidates: [LabelCandidate]
    public let prompts: [String]
    public let responsesPerTask: Int
    public let maxTokens: Int

    public init(
        store: FeedbackStore, engine: InferenceEngine?, candidates: [LabelCandidate] = [],
        prompts: [String] = [], responsesPerTask: Int = 4, maxTokens: Int = 128
    ) {
        self.store = store
        self.engine = engine
        self.candidates = candidates
        self.prompts = prompts
        self.responsesPerTask = max(2, responsesPerTask)
        self.maxTokens = max(1, maxTokens)
    }

    public struct LabelCandidate: Codable, Sendable, Equatable {
        public var prompt: String
        public var responses: [String]

        public init(prompt: String, responses: [String]) {
            self.prompt = prompt
            self.responses = responses
        }
    }

    public struct Task: Codable, Sendable, Equatable {
        public var prompt: String
        public var responses: [String]
        public var source: String
    }

    struct TaskReply: Codable { var task: Task?; var message: String? }

    struct SampleRequest: Decodable { var prompt: String; var count: OpenAI.JSONInteger? }

    struct JudgementRequest: Decodable {
        var prompt: String
        var responses: [String]
        /// Numbers, so that a fractional or huge index is reported with its position.
        var ranking: [Double]
        var labeler: String
        var demonstration: String?
        var source: String?
    }

    struct SaveReply: Codable { var id: Int64; var counts: FeedbackStore.Counts }

    // MARK: Endpoints

    public func nextTask(labeler: String) async -> OpenAIService.Output {
        do {
            let judged = try await store.judgedSources(labeler: labeler)
            if !candidates.isEmpty {
                guard let index = candidates.indices.first(where: { !judged.contains("candidates:\($0)") })
                else {
                    return reply(
                        TaskReply(message: "Every candidate has been ranked by \(labeler). Thank you!"))
                }
                let candidate = candidates[index]
                return reply(
                    TaskReply(
                        task: Task(
                            prompt: candidate.prompt, responses: candidate.responses,
                            source: "candidates:\(index)")))
            }
            if !prompts.isEmpty {
                guard let index = prompts.indices.first(where: { !judged.contains("prompts:\($0)") }) else {
                    return reply(TaskReply(message: "Every prompt has been ranked by \(labeler). Thank you!"))
                }
                let responses = try await sample(prompt: prompts[index], count: responsesPerTask)
                return reply(
                    TaskReply(
                        task: Task(prompt: prompts[index], responses: responses, source: "prompts:\(index)")))
            }
            return reply(
                TaskReply(message: "No prompts were given to the server: type a prompt to sample responses."))
        } catch let error as ServingError {
            return OpenAIService.error(error)
        } catch {
            return OpenAIService.error(.server("could not prepare a task: \(error)"))
        }
    }

    public func sample(body: Data) async -> OpenAIService.Output {
        do {
            let request: SampleRequest = try OpenAIService.decode(body)
            guard !request.prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ServingError.invalidRequest("`prompt` must not be empty.", param: "prompt")
            }
            let count = request.count?.value ?? responsesPerTask
            guard (2...8).contains(count) else {
                throw ServingError.invalidRequest(
                    "`count` must be between 2 and 8, got \(count).", param: "count")
            }
            let responses = try await sample(prompt: request.prompt, count: count)
            return reply(
                TaskReply(
                    task: Task(
                        prompt: request.prompt, responses: responses,
                        source: "model:\(engine?.backend.modelID ?? "none")")))
        } catch let error as ServingError {
            return OpenAIService.error(error)
        } catch {
            return OpenAIService.error(.server("sampling failed: \(error)"))
        }
    }

    public func save(body: Data) async -> OpenAIService.Output {
        do {
            let request: JudgementRequest = try OpenAIService.decode(body)
            let ranking: [Int]
            do throws(RecordProblem) {
                ranking = try RankingRecord.indices(request.ranking)
            } catch {
                throw ServingError.invalidRequest(
                    "`\(error.field ?? "ranking")`: \(error.reason).",
                    param: error.field ?? "ranking")
            }
            let demonstration = request.demonstration?.trimmingCharacters(in: .whitespacesAndNewlines)
            let stored = try await store.save(
                Judgement(
                    prompt: request.prompt, responses: request.responses, ranking: ranking,
                    labeler: request.labeler.trimmingCharacters(in: .whitespacesAndNewlines),
                    demonstration: demonstration?.isEmpty == false ? demonstration : nil,
                    source: request.source))
            return reply(SaveReply(id: stored.id ?? 0, counts: try await store.counts()))
        } catch let error as ServingError {
            return OpenAIService.error(error)
        } catch {
            return OpenAIService.error(.server("could not save the judgement: \(error)"))
        }
    }

    public func stats() async -> OpenAIService.Output {
        do {
            return reply(try await store.counts())
        } catch {
            return OpenAIService.error(.server("could not count judgements: \(error)"))
        }
    }

    // MARK: Helpers

    /// `count` responses to `prompt` as a single user turn, sampled at temperature 1.
    func sample(prompt: String, count: Int) async throws -> [String] {
        guard let engine else {
            throw ServingError(status: 409, message: "This server has no model to sample responses from.")
        }
        let tokens = try engine.backend.chatPrompt(for: [ChatTurn(role: .user, content: prompt)])
        let room = engine.backend.contextLength - tokens.count
        guard room >= 1 else {
            throw ServingError.contextLengthExceeded(
                promptTokens: tokens.count, maxTokens: 1,
                contextLength: engine.backend.contextLength)
        }
        let handle = try await engine.submit(
            GenerationJob(
                prompts: [tokens], choicesPerPrompt: count, maxTokens: min(maxTokens, room)))
        return try await handle.collect().map(\.text)
    }

    private func reply(_ value: some Encodable) -> OpenAIService.Output {
        .json(status: 200, body: OpenAIService.encode(value))
    }

    // MARK: Loading

    /// Reads a JSONL file of `{"prompt", "responses": [...]}` records; each must be rankable by
    /// the rules a judgement is saved under, or no labeler could save its judgement.
    public static func loadCandidates(from url: URL) throws -> [LabelCandidate] {
        try readJSONL(url) { (record: LabelCandidate, line) in
            guard record.responses.count >= 2 else {
                throw LabelFileError(
                    file: url.path, line: line, message: "`responses` needs at least 2 entries")
            }
            let asRanked = Judgement(
                prompt: record.prompt, responses: record.responses,
                ranking: Array(record.responses.indices), labeler: "candidates")
            do throws(ServingError) {
                try asRanked.validateTrainingData()
            } catch {
                throw LabelFileError(file: url.path, line: line, message: error.message)
            }
            return record
        }
    }

    /// Reads a JSONL file of `{"prompt"}` records.
    public static func loadPrompts(from url: URL) throws -> [String] {
        struct PromptRecord: Codable { var prompt: String }
        return try readJSONL(url) { (record: PromptRecord, _) in record.prompt }
    }

    private static func readJSONL<Record: Decodable, Value>(
        _ url: URL, _ check: (Record, Int) throws -> Value
    ) throws
        -> [Value]
    {
        let text = try String(contentsOf: url, encoding: .utf8)
        var values: [Value] = []
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            let record: Record
            do {
                record = try JSONDecoder().decode(Record.self, from: Data(line.utf8))
            } catch let error as DecodingError {
                throw LabelFileError(
                    file: url.path, line: offset + 1, message: OpenAIService.describe(error).message)
            }
            values.append(try check(record, offset + 1))
        }
        return values
    }
}

public struct LabelFileError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
}

extension LabelService.TaskReply {
    init(task: LabelService.Task) { self.init(task: task, message: nil) }
    init(message: String) { self.init(task: nil, message: message) }
}
