import Foundation
import Models
import Testing
import Tokenizers
@testable import Serving

/// The adapter over the real transformer, with a randomly initialised tiny model and a tokenizer
/// trained inside the test (no files, no weights).
@Suite struct TransformerBackendTests {
    static func makeBackend(contextLength: Int = 64) throws -> TransformerBackend {
        let tokenizer = try BPETrainer.train(
            texts: ["hello there, how are you? I am fine, thank you. hello hello there"],
            parameters: .init(vocabularySize: 280))
        let config = ModelConfig(
            vocabSize: tokenizer.vocabularySize, hiddenSize: 32, layerCount: 2, headCount: 4,
            contextLength: contextLength)
        return TransformerBackend(
            model: try Transformer(config: config, seed: 3), tokenizer: tokenizer, modelID: "tiny")
    }

    @Test func chatPromptUsesChatMLAndEndOfTurnStops() throws {
        let backend = try Self.makeBackend()
        let template = try #require(backend.template)
        #expect(backend.endTokens.contains(template.endOfTurnID))
        let prompt = try backend.chatPrompt(for: [ChatTurn(role: .user, content: "hello")])
        #expect(prompt == template.renderPrompt([ChatMessage(role: .user, content: "hello")]))
        #expect(backend.decode(backend.encode("how are you?")) == "how are you?")
    }

    @Test func greedyGenerationIsReproducibleAndBatchedRowsMatchSingleRows() async throws {
        let backend = try Self.makeBackend()
        let engine = InferenceEngine(backend: backend)
        let prompts = [backend.encode("hello there"), backend.encode("I am fine, thank")]
        func run(_ prompts: [[Int32]]) async throws -> [CompletedChoice] {
            try await engine.submit(
                GenerationJob(
                    prompts: prompts, maxTokens: 6,
                    sampling: SamplingSettings(temperature: 0))
            ).collect()
        }
        let together = try await run(prompts)
        let alone = [try await run([prompts[0]])[0], try await run([prompts[1]])[0]]
        #expect(together.map(\.text) == alone.map(\.text))
        #expect(together.allSatisfy { $0.completionTokens <= 6 })
        #expect(together.allSatisfy { $0.finishReason == .length || $0.completionTokens < 6 })
    }

    @Test func seededSamplingIsReproducible() async throws {
        let backend = try Self.makeBackend()
        let engine = InferenceEngine(backend: backend)
        func run(seed: UInt64) async throws -> [String] {
            try await engine.submit(
                GenerationJob(
                    prompts: [backend.encode("hello")], choicesPerPrompt: 2, maxTokens: 8,
                    seed: seed)
            ).collect().map(\.text)
        }
        #expect(try await run(seed: 11) == run(seed: 11))
    }
}

extension TransformerBackendTests {
    @Test func loadsARunDirectoryWrittenLikeAStageWritesIt() async throws {
        let backend = try Self.makeBackend()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "serving-run-\(UUID())/tiny-run")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let tokenizer = backend.tokenizer
        let model = try Transformer(
            config: ModelConfig(
                vocabSize: tokenizer.vocabularySize, hiddenSize: 32, layerCount: 2,
                headCount: 4, contextLength: 64), seed: 5)
        // What a stage writes (ModelRun.save in Training), from Models' writers.
        let run = RunDirectory(directory)
        try run.create()
        try model.config.huggingFaceJSON().write(to: run.config)
        try model.encodedWeights().write(to: run.model)
        try tokenizer.write(to: directory)
        let loaded = try TransformerBackend.load(runDirectory: directory.path)
        #expect(loaded.modelID == "tiny-run")
        #expect(loaded.contextLength == 64)
        // Same weights → same greedy text as the in-memory model.
        let reference = TransformerBackend(model: model, tokenizer: tokenizer, modelID: "reference")
        func greedy(_ backend: TransformerBackend) async throws -> String {
            try await InferenceEngine(backend: backend).submit(
                GenerationJob(
                    prompts: [backend.encode("hello")], maxTokens: 5,
                    sampling: SamplingSettings(temperature: 0))
            )
            .collect()[0].text
        }
        #expect(try await greedy(loaded) == greedy(reference))
        #expect(throws: (any Error).self) {
            _ = try TransformerBackend.load(runDirectory: directory.path + "-missing")
        }
    }

    /// Continuous batching with the real model: a seeded request gives the same text alone and
    /// while other requests (sampled, greedy, longer prompts) join and leave around it.
    @Test func aSeededRequestIgnoresTheRequestsAroundIt() async throws {
        let backend = try Self.makeBackend()
        let engine = InferenceEngine(backend: backend, maxBatchRows: 4)
        let seeded = GenerationJob(
            prompts: [backend.encode("hello"), backend.encode("how are")], choicesPerPrompt: 2, maxTokens: 12,
            seed: 21)
        let alone = try await engine.submit(seeded).collect()
        var others: [GenerationHandle] = []
        for (i, text) in ["I am fine, thank you", "there", "hello hello there, how"].enumerated() {
            others.append(
                try await engine.submit(
                    GenerationJob(
                        prompts: [backend.encode(text)], maxTokens: 4 + 6 * i,
                        sampling: SamplingSettings(temperature: i == 1 ? 0 : 1))))
        }
        let together = try await engine.submit(seeded).collect()
        for other in others { _ = try await other.collect() }
        #expect(together == alone)
        #expect(await engine.statistics.largestBatch > 1)
    }
}
