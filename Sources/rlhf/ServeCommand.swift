import ArgumentParser
import Foundation
import Hummingbird
import Serving

/// `rlhf serve`: the OpenAI-compatible API, the chat page and the ranking page for one model.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Serve a model over HTTP: OpenAI-compatible API, a chat page (/) and a ranking page (/label).")

    @OptionGroup var source: ModelSourceOptions

    @Option(help: "Address to bind (loopback by default; use 0.0.0.0 to accept other machines).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one and prints it).")
    var port = 8080

    @Option(
        name: .customLong("api-key"),
        help: "Require `Authorization: Bearer KEY` on /v1 and /api (or set RLHF_API_KEY).")
    var apiKey: String?

    @Option(
        name: .customLong("feedback-db"),
        help: "SQLite file for judgements (default: DIR/feedback.sqlite, or ./feedback.sqlite with --demo).")
    var feedbackDB: String?

    @Option(
        name: .customLong("label-candidates"),
        help: "JSONL of {\"prompt\", \"responses\": [...]} to rank on /label.")
    var labelCandidates: String?

    @Option(
        name: .customLong("label-prompts"), help: "JSONL of {\"prompt\"}; /label samples responses for each.")
    var labelPrompts: String?

    @Option(name: .customLong("label-responses"), help: "Responses sampled per prompt on /label.")
    var labelResponses = 4

    @Option(name: .customLong("max-batch"), help: "Most sequences generated together.")
    var maxBatch = 8

    @Option(name: .customLong("default-max-tokens"), help: "max_tokens when a request gives none.")
    var defaultMaxTokens = 256

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted.")
    var maxBodyBytes = 1 << 20

    @Option(
        name: .customLong("idle-timeout"),
        help: ArgumentHelp(
            "Seconds before closing a connection that sends nothing (half-sent requests, "
                + "idle keep-alive connections); 0: never."))
    var idleTimeout = 30.0

    @Option(
        name: .customLong("allowed-host"),
        help: ArgumentHelp(
            "Another Host name the server answers to, e.g. behind a proxy (repeatable; "
                + "with a loopback --host, localhost, 127.0.0.1 and ::1 always work; otherwise only the "
                + "names given)."))
    var allowedHosts: [String] = []

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535, got \(port)") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be positive") }
        guard (2...8).contains(labelResponses) else { throw ValidationError("--label-responses must be 2…8") }
        guard defaultMaxTokens >= 1, maxBodyBytes >= 1024 else {
            throw ValidationError("--default-max-tokens must be positive and --max-body-bytes at least 1024")
        }
        guard idleTimeout.isFinite, (0...86400).contains(idleTimeout) else {
            throw ValidationError("--idle-timeout must be 0…86400 seconds, got \(idleTimeout)")
        }
    }

    func run() async throws {
        let backend = try source.loadBackend()
        let engine = InferenceEngine(backend: backend, maxBatchRows: maxBatch)
        var configuration = ServerConfiguration(
            host: host, port: port, apiKey: apiKey ?? ProcessInfo.processInfo.environment["RLHF_API_KEY"],
            maxBodyBytes: maxBodyBytes)
        configuration.limits.defaultMaxTokens = defaultMaxTokens
        configuration.idleTimeout = idleTimeout > 0 ? .milliseconds(Int64(idleTimeout * 1000)) : nil
        if !allowedHosts.isEmpty { configuration.allowedHosts = Set(allowedHosts) }

        let databasePath =
            feedbackDB ?? source.model.map { RunDirectoryPath.feedback(in: $0) } ?? "feedback.sqlite"
        let store = try FeedbackStore(path: databasePath)
        let labels = LabelService(
            store: store, engine: engine,
            candidates: try labelCandidates.map {
                try LabelService.loadCandidates(from: URL(fileURLWithPath: $0))
            } ?? [],
            prompts: try labelPrompts.map { try LabelService.loadPrompts(from: URL(fileURLWithPath: $0)) }
                ?? [],
            responsesPerTask: labelResponses, maxTokens: min(defaultMaxTokens, 128))

        let host = self.host
        let app = ServingRouter.application(
            service: OpenAIService(engine: engine, limits: configuration.limits), labels: labels,
            configuration: configuration,
            onServerRunning: { port in
                writeOut(
                    "serving \(backend.modelID) on http://\(host):\(port)  (chat: /, ranking: /label, feedback: \(databasePath))\n"
                )
            })
        try await app.runService()
    }
}

enum RunDirectoryPath {
    static func feedback(in model: String) -> String {
        URL(fileURLWithPath: model, isDirectory: true).appendingPathComponent("feedback.sqlite").path
    }
}

/// Where the model comes from: a run directory, or the scripted demo model.
struct ModelSourceOptions: ParsableArguments {
    @Option(help: "Run directory with config.json, model.safetensors and tokenizer.json.")
    var model: String?

    @Flag(
        help: "Use the built-in scripted model instead of weights (for trying the pages, scripts and tests).")
    var demo = false

    @Option(
        name: .customLong("demo-step-ms"),
        help: "With --demo: milliseconds per generated token (simulated compute).")
    var demoStepMilliseconds = 0

    @Option(
        help:
            "Weights generation multiplies by: f32 (as loaded), or bf16 / int8 (per-output-channel scale) copies; activations stay f32."
    )
    var weights: DecodeWeights = .f32

    func validate() throws {
        if model != nil && demo { throw ValidationError("give either --model DIR or --demo, not both") }
        if model == nil && !demo { throw ValidationError("give --model DIR (or --demo)") }
        if demoStepMilliseconds < 0 { throw ValidationError("--demo-step-ms must not be negative") }
    }

    func loadBackend() throws -> any GenerationBackend {
        if demo {
            return ScriptedBackend(
                modelID: "demo", contextLength: 1024, stepDelay: .milliseconds(demoStepMilliseconds))
        }
        let backend = try TransformerBackend.load(runDirectory: model!, decodeWeights: weights.format)
        weights.announce()
        return backend
    }
}
