import Foundation
import Tokenizers

/// The OpenAI-compatible endpoints as plain functions from a request body to a response, so they
/// are tested without sockets; `ServingRouter` only moves bytes between Hummingbird and here.
public struct OpenAIService: Sendable {
    public let engine: InferenceEngine
    public var limits: Limits
    /// Reported as `created` of the model in `/v1/models`.
    public var startTime: Int

    public struct Limits: Sendable {
        /// `max_tokens` when the request gives none (further capped by the context left).
        public var defaultMaxTokens = 256
        /// Largest `n`.
        public var maxChoices = 8
        /// Largest number of prompts in one `/v1/completions` request.
        public var maxPrompts = 8
        /// Most stop sequences (OpenAI allows 4).
        public var maxStopSequences = 4
        /// Most messages in one chat request (checked before the conversation is rendered).
        public var maxMessages = 2048

        public init() {}
    }

    public init(
        engine: InferenceEngine, limits: Limits = Limits(), startTime: Int = Int(Date().timeIntervalSince1970)
    ) {
        self.engine = engine
        self.limits = limits
        self.startTime = startTime
    }

    public enum Output: Sendable {
        case json(status: Int, body: Data)
        case events(EventStream)
    }

    // MARK: Endpoints

    public func models() -> Output {
        .json(status: 200, body: Self.encode(OpenAI.ModelList(data: [model])))
    }

    public func model(id: String) -> Output {
        guard id == engine.backend.modelID else { return Self.error(.unknownModel(id)) }
        return .json(status: 200, body: Self.encode(model))
    }

    /// Liveness plus the engine's counters (decode steps, rows, cancelled rows), for load tests.
    public func health() async -> Output {
        struct Health: Encodable {
            var status = "ok"
            var model: String
            var jobs, steps, rows, largestBatch, cancelledRows: Int
        }
        let s = await engine.statistics
        return .json(
            status: 200,
            body: Self.encode(
                Health(
                    model: engine.backend.modelID, jobs: s.jobs, steps: s.steps, rows: s.rows,
                    largestBatch: s.largestBatch, cancelledRows: s.cancelledRows)))
    }

    public func chatCompletions(body: Data) async -> Output {
        do {
            let request: OpenAI.ChatCompletionRequest = try Self.decode(body)
            let prepared = try prepareChat(request)
            return try await run(prepared)
        } catch let error as ServingError {
            return Self.error(error)
        } catch {
            return Self.error(.server("generation failed: \(error)"))
        }
    }

    public func completions(body: Data) async -> Output {
        do {
            let request: OpenAI.CompletionRequest = try Self.decode(body)
            let prepared = try prepareCompletion(request)
            return try await run(prepared)
        } catch let error as ServingError {
            return Self.error(error)
        } catch {
            return Self.error(.server("generation failed: \(error)"))
        }
    }

    // MARK: Validation

    struct Prepared: Sendable {
        enum Kind: Sendable { case chat, completion }
        var kind: Kind
        var job: GenerationJob
        var stream: Bool
        var includeUsage: Bool
        var promptTokens: Int
    }

    func prepareChat(_ request: OpenAI.ChatCompletionRequest) throws(ServingError) -> Prepared {
        try checkModel(request.model)
        guard !request.messages.isEmpty else {
            throw .invalidRequest("`messages` must contain at least one message.", param: "messages")
        }
        guard request.messages.count <= limits.maxMessages else {
            throw .invalidRequest(
                "`messages` may hold at most \(limits.maxMessages) messages, got \(request.messages.count).",
                param: "messages")
        }
        if request.logprobs == true {
            throw .invalidRequest("`logprobs` is not supported by this server.", param: "logprobs")
        }
        if let top = request.topLogprobs?.value {
            guard (0...20).contains(top) else {
                throw .invalidRequest(
                    "`top_logprobs` must be between 0 and 20, got \(top).",
                    param: "top_logprobs")
            }
            if top > 0 {
                throw .invalidRequest(
                    "`top_logprobs` is not supported by this server.",
                    param: "top_logprobs")
            }
        }
        try Self.checkPenalties(presence: request.presencePenalty, frequency: request.frequencyPenalty)
        if let tools = request.tools, !tools.isEmpty {
            throw .invalidRequest("`tools` are not supported by this server.", param: "tools")
        }
        var turns: [ChatTurn] = []
        for (i, message) in request.messages.enumerated() {
            let role: ChatTurn.Role
            switch message.role {
            case "system", "developer": role = .system
            case "user": role = .user
            case "assistant": role = .assistant
            default:
                throw .invalidRequest(
                    "Unsupported role `\(message.role)`; expected system, user or assistant.",
                    param: "messages[\(i)].role")
            }
            turns.append(ChatTurn(role: role, content: message.content))
        }
        let prompt: [Int32]
        do {
            prompt = try engine.backend.chatPrompt(for: turns)
        } catch {
            throw .invalidRequest("Could not render the conversation: \(error)", param: "messages")
        }
        let job = try makeJob(
            prompts: [prompt], promptParam: "messages", temperature: request.temperature, topP: request.topP,
            topK: request.topK?.value, n: request.n?.value,
            maxTokens: (request.maxCompletionTokens ?? request.maxTokens)?.value,
            maxTokensParam: request.maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens",
            stop: request.stop, seed: request.seed.map { Int64($0.value) })
        return Prepared(
            kind: .chat, job: job, stream: request.stream ?? false,
            includeUsage: request.streamOptions?.includeUsage ?? false, promptTokens: prompt.count)
    }

    func prepareCompletion(_ request: OpenAI.CompletionRequest) throws(ServingError) -> Prepared {
        try checkModel(request.model)
        if request.echo == true {
            throw .invalidRequest("`echo` is not supported by this server.", param: "echo")
        }
        if let suffix = request.suffix, !suffix.isEmpty {
            throw .invalidRequest("`suffix` is not supported by this server.", param: "suffix")
        }
        if let logprobs = request.logprobs?.value {
            guard (0...5).contains(logprobs) else {
                throw .invalidRequest(
                    "`logprobs` must be between 0 and 5, got \(logprobs).",
                    param: "logprobs")
            }
            throw .invalidRequest("`logprobs` is not supported by this server.", param: "logprobs")
        }
        try Self.checkPenalties(presence: request.presencePenalty, frequency: request.frequencyPenalty)
        if let bestOf = request.bestOf?.value, bestOf != (request.n?.value ?? 1) {
            throw .invalidRequest("`best_of` is not supported by this server.", param: "best_of")
        }
        let count =
            switch request.prompt {
            case .texts(let texts): texts.count
            case .tokens(let lists): lists.count
            }
        // Counted before encoding: a body of many tiny prompts must not cost a tokenizer pass each.
        guard (1...limits.maxPrompts).contains(count) else {
            throw .invalidRequest(
                "`prompt` must hold between 1 and \(limits.maxPrompts) prompts, got \(count).",
                param: "prompt")
        }
        let prompts: [[Int32]]
        switch request.prompt {
        case .texts(let texts): prompts = texts.map { engine.backend.encode($0) }
        case .tokens(let lists):
            let vocabulary = engine.backend.vocabularySize
            for list in lists {
                if let bad = list.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
                    throw .invalidRequest(
                        "Token id \(bad) is outside the vocabulary (0..<\(vocabulary)).", param: "prompt")
                }
            }
            prompts = lists
        }
        if prompts.contains(where: \.isEmpty) {
            throw .invalidRequest("`prompt` must not be empty.", param: "prompt")
        }
        let job = try makeJob(
            prompts: prompts, promptParam: "prompt", temperature: request.temperature, topP: request.topP,
            topK: request.topK?.value, n: request.n?.value, maxTokens: request.maxTokens?.value,
            maxTokensParam: "max_tokens", stop: request.stop, seed: request.seed.map { Int64($0.value) })
        return Prepared(
            kind: .completion, job: job, stream: request.stream ?? false,
            includeUsage: request.streamOptions?.includeUsage ?? false,
            promptTokens: prompts.reduce(0) { $0 + $1.count })
    }

    /// OpenAI's range for both penalties. This server does not implement them, and a penalty would
    /// change the answer, so a non-zero one is refused by name rather than ignored.
    private static func checkPenalties(presence: Double?, frequency: Double?) throws(ServingError) {
        for (value, name) in [(presence, "presence_penalty"), (frequency, "frequency_penalty")] {
            guard let value else { continue }
            guard value >= -2 && value <= 2 else {
                throw .invalidRequest("`\(name)` must be between -2 and 2, got \(value).", param: name)
            }
            guard value == 0 else {
                throw .invalidRequest(
                    "`\(name)` is not implemented by this server; send 0 or leave it out.", param: name)
            }
        }
    }

    private func checkModel(_ model: String) throws(ServingError) {
        guard model == engine.backend.modelID else { throw .unknownModel(model) }
    }

    private func makeJob(
        prompts: [[Int32]], promptParam: String, temperature: Double?, topP: Double?, topK: Int?,
        n: Int?, maxTokens: Int?, maxTokensParam: String, stop: OpenAI.StopSequences?,
        seed: Int64?
    ) throws(ServingError) -> GenerationJob {
        var temperature = temperature ?? 1
        guard temperature.isFinite, (0...2).contains(temperature) else {
            throw .invalidRequest(
                "`temperature` must be between 0 and 2, got \(temperature).", param: "temperature")
        }
        // Sampling divides by the temperature in Float: below this it is greedy anyway, and a
        // tiny value (1e-40) would make 1/T infinite. vLLM uses the same threshold.
        if temperature < 1e-5 { temperature = 0 }
        if let topP, !(topP > 0 && topP <= 1) {
            throw .invalidRequest("`top_p` must be in (0, 1], got \(topP).", param: "top_p")
        }
        if let topK, topK < 1 {
            throw .invalidRequest("`top_k` must be at least 1, got \(topK).", param: "top_k")
        }
        let n = n ?? 1
        guard (1...limits.maxChoices).contains(n) else {
            throw .invalidRequest("`n` must be between 1 and \(limits.maxChoices), got \(n).", param: "n")
        }
        let stops = stop?.values ?? []
        guard stops.count <= limits.maxStopSequences else {
            throw .invalidRequest(
                "`stop` may hold at most \(limits.maxStopSequences) sequences, got \(stops.count).",
                param: "stop")
        }
        let context = engine.backend.contextLength
        let longest = prompts.map(\.count).max() ?? 0
        let tokens: Int
        if let maxTokens {
            guard maxTokens >= 1 else {
                throw .invalidRequest(
                    "`\(maxTokensParam)` must be at least 1, got \(maxTokens).", param: maxTokensParam)
            }
            // `maxTokens` may be near Int.max: compare against the room left, never add to it.
            guard maxTokens <= context - longest else {
                var error = ServingError.contextLengthExceeded(
                    promptTokens: longest, maxTokens: maxTokens,
                    contextLength: context)
                error.param = longest >= context ? promptParam : maxTokensParam
                throw error
            }
            tokens = maxTokens
        } else {
            guard longest < context else {
                var error = ServingError.contextLengthExceeded(
                    promptTokens: longest, maxTokens: 1, contextLength: context)
                error.param = promptParam
                throw error
            }
            tokens = min(limits.defaultMaxTokens, context - longest)
        }
        return GenerationJob(
            prompts: prompts, choicesPerPrompt: n, maxTokens: tokens,
            sampling: SamplingSettings(
                temperature: Float(temperature), topK: topK,
                topP: topP.flatMap { $0 < 1 ? Float($0) : nil }),
            seed: seed.map { UInt64(bitPattern: $0) }, stop: stops.filter { !$0.isEmpty })
    }

    // MARK: Running

    func run(_ prepared: Prepared) async throws -> Output {
        let handle = try await engine.submit(prepared.job)
        let id = Self.makeID(prepared.kind == .chat ? "chatcmpl" : "cmpl")
        let created = Int(Date().timeIntervalSince1970)
        let model = engine.backend.modelID
        if prepared.stream {
            return .events(
                EventStream(handle: handle, prepared: prepared, id: id, created: created, model: model))
        }
        let choices = try await handle.collect()
        let usage = OpenAI.Usage(
            promptTokens: prepared.promptTokens,
            completionTokens: choices.reduce(0) { $0 + $1.completionTokens })
        switch prepared.kind {
        case .chat:
            return .json(
                status: 200,
                body: Self.encode(
                    OpenAI.ChatCompletion(
                        id: id, created: created, model: model,
                        choices: choices.map {
                            .init(
                                index: $0.index, message: .init(content: $0.text),
                                finishReason: $0.finishReason)
                        },
                        usage: usage)))
        case .completion:
            return .json(
                status: 200,
                body: Self.encode(
                    OpenAI.TextCompletion(
                        id: id, created: created, model: model,
                        choices: choices.map {
                            .init(text: $0.text, index: $0.index, finishReason: $0.finishReason)
                        },
                        usage: usage)))
        }
    }

    private var model: OpenAI.Model {
        OpenAI.Model(id: engine.backend.modelID, created: startTime, ownedBy: "swift-rlhf")
    }

    // MARK: Coding

    static func decode<T: Decodable>(_ body: Data) throws(ServingError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: body)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
                let number = JSONNumberScan.firstUnrepresentableNumber(in: body)
            {
                // Foundation reports an out-of-range number without saying where it is.
                let name = number.key.map { "'\($0)'" } ?? "the body"
                throw .invalidRequest(
                    "Invalid value for \(name): the number \(number.literal.prefix(40)) is out of range.",
                    param: number.key, code: "invalid_value")
            }
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
                (try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])) != nil
            {
                // Valid JSON, but a value the decoder rejected without saying where.
                throw .invalidRequest(
                    "Invalid value in the request body: \(context.debugDescription)",
                    code: "invalid_value")
            }
            throw describe(error)
        } catch {
            throw .invalidRequest("We could not parse the JSON body of your request: \(error)")
        }
    }

    /// Turns a decoding failure into a message naming the field, as OpenAI's do.
    static func describe(_ error: DecodingError) -> ServingError {
        func path(_ keys: [any CodingKey]) -> String? {
            guard !keys.isEmpty else { return nil }
            return keys.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }
                .joined().drop { $0 == "." }.description
        }
        switch error {
        case .keyNotFound(let key, let context):
            let name = path(context.codingPath + [key]) ?? key.stringValue
            return .invalidRequest(
                "Missing required parameter: '\(name)'.", param: name, code: "missing_required_parameter")
        case .typeMismatch(let type, let context):
            let name = path(context.codingPath)
            return .invalidRequest(
                "Invalid type for '\(name ?? "body")': expected \(describe(type)). \(context.debugDescription)",
                param: name, code: "invalid_type")
        case .valueNotFound(let type, let context):
            let name = path(context.codingPath)
            return .invalidRequest(
                "Invalid value for '\(name ?? "body")': expected \(describe(type)), got null.",
                param: name, code: "invalid_type")
        case .dataCorrupted(let context):
            if let name = path(context.codingPath) {
                return .invalidRequest(
                    "Invalid value for '\(name)': \(context.debugDescription)", param: name,
                    code: "invalid_value")
            }
            return .invalidRequest(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
                    + "HTTP library correctly. The OpenAI API expects a JSON payload.)", code: "invalid_json")
        @unknown default:
            return .invalidRequest("Invalid request body: \(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is [Any].Type: "an array"
        default: type == [String: Any].self ? "an object" : "\(type)"
        }
    }

    static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Every value encoded here is made of strings and numbers; encoding cannot fail.
        return (try? encoder.encode(value))
            ?? Data(
                #"{"error":{"message":"encoding failed","type":"server_error","param":null,"code":null}}"#
                    .utf8)
    }

    static func error(_ error: ServingError) -> Output {
        .json(status: error.status, body: encode(error.body))
    }

    static func makeID(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<3).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
        return "\(prefix)-\(hex.prefix(24))"
    }
}
