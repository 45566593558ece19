import Testing
@testable import Serving

@Suite struct InferenceEngineTests {
    let backend = ScriptedBackend(contextLength: 128)

    @Test func greedyCompletionIsTheFirstScriptedReply() async throws {
        let engine = InferenceEngine(backend: backend)
        let prompt = backend.encode("user: cats\nassistant:")
        let handle = try await engine.submit(
            GenerationJob(
                prompts: [prompt], maxTokens: 100, sampling: SamplingSettings(temperature: 0)))
        let choices = try await handle.collect()
        #expect(
            choices == [
                CompletedChoice(
                    index: 0, text: "You said: cats. That is all I know.", finishReason: .stop,
                    completionTokens: 35)
            ])
    }

    @Test func maxTokensEndsWithLength() async throws {
        let engine = InferenceEngine(backend: backend)
        let handle = try await engine.submit(
            GenerationJob(
                prompts: [backend.encode("dogs")], maxTokens: 5, sampling: SamplingSettings(temperature: 0)))
        let choices = try await handle.collect()
        #expect(choices.map(\.text) == ["You s"])
        #expect(choices.map(\.finishReason) == [.length])
        #expect(choices.map(\.completionTokens) == [5])
    }

    @Test func stopSequenceIsCutAndNotShown() async throws {
        let engine = InferenceEngine(backend: backend)
        let handle = try await engine.submit(
            GenerationJob(
                prompts: [backend.encode("dogs")], maxTokens: 100, sampling: SamplingSettings(temperature: 0),
                stop: [". That"]))
        let choices = try await handle.collect()
        #expect(choices.map(\.text) == ["You said: dogs"])
        #expect(choices.map(\.finishReason) == [.stop])
    }

    @Test func sameSeedSameTextAndChoicesAreNumbered() async throws {
        let engine = InferenceEngine(backend: backend)
        func run(seed: UInt64) async throws -> [String] {
            let handle = try await engine.submit(
                GenerationJob(
                    prompts: [backend.encode("a"), backend.encode("b")], choicesPerPrompt: 3, maxTokens: 60,
                    seed: seed))
            let choices = try await handle.collect()
            #expect(choices.map(\.index) == Array(0..<6))
            return choices.map(\.text)
        }
        let first = try await run(seed: 7)
        #expect(try await run(seed: 7) == first)
        // Choices 0–2 answer prompt "a", 3–5 prompt "b".
        #expect(first[0...2].allSatisfy { $0.contains(" a") })
        #expect(first[3...5].allSatisfy { $0.contains(" b") })
        var seen = Set<String>()
        for seed in UInt64(0)..<8 { seen.formUnion(try await run(seed: seed)) }
        #expect(seen.count > 2, "different seeds should draw different replies")
    }

    @Test func concurrentJobsShareABatch() async throws {
        let slow = ScriptedBackend(contextLength: 128, stepDelay: .milliseconds(2))
        let engine = InferenceEngine(backend: slow, maxBatchRows: 8)
        // The first job starts alone; the next five arrive while it runs and share the next batch.
        var handles: [GenerationHandle] = []
        for i in 0..<6 {
            handles.append(
                try await engine.submit(
                    GenerationJob(
                        prompts: [slow.encode("job \(i)")], maxTokens: 20,
                        sampling: SamplingSettings(temperature: 0))))
        }
        for (i, handle) in handles.enumerated() {
            let choices = try await handle.collect()
            #expect(choices.map(\.text) == [String("You said: job \(i). That is all I know.".prefix(20))])
        }
        let statistics = await engine.statistics
        #expect(statistics.jobs == 6)
        #expect(statistics.rows == 6)
        #expect(statistics.batches < 6)
        #expect(slow.batchSizes.max()! >= 2)
    }

    @Test func seededJobsRunAloneAndSamplingSettingsDoNotMix() async throws {
        let slow = ScriptedBackend(contextLength: 128, stepDelay: .milliseconds(2))
        let engine = InferenceEngine(backend: slow)
        let a = try await engine.submit(GenerationJob(prompts: [slow.encode("a")], maxTokens: 10))
        let b = try await engine.submit(GenerationJob(prompts: [slow.encode("b")], maxTokens: 10, seed: 1))
        let c = try await engine.submit(
            GenerationJob(
                prompts: [slow.encode("c")], maxTokens: 10,
                sampling: SamplingSettings(temperature: 0.5)))
        let d = try await engine.submit(
            GenerationJob(
                prompts: [slow.encode("d")], maxTokens: 10,
                sampling: SamplingSettings(temperature: 0.5)))
        for handle in [a, b, c, d] { _ = try await handle.collect() }
        // a alone (started at once), b alone (seeded), c and d together.
        #expect(slow.batchSizes == [1, 1, 2])
    }

    @Test func cancellingStopsTheRowEarly() async throws {
        // A 39-character topic: every scripted reply is at least 61 bytes, 2.5 s at 40 ms a token,
        // so a cancel that lands late on a busy 2-core machine (the demo test may hold both
        // cooperative threads) still lands before the reply's end.
        let slow = ScriptedBackend(contextLength: 256, stepDelay: .milliseconds(40))
        let engine = InferenceEngine(backend: slow)
        let topic = String(repeating: "long ", count: 8)
        let handle = try await engine.submit(GenerationJob(prompts: [slow.encode(topic)], maxTokens: 100))
        var received = "", finished = false
        for try await event in handle.events {
            switch event {
            case .text(_, let text): received += text
            default: finished = true
            }
            if received.count >= 3 { handle.cancel() }
        }
        // The stream ends after cancelling, before the reply's end and without a finish event.
        #expect(received.count < 61)
        #expect(!finished)
        // The engine is free again: another job runs to completion.
        let next = try await engine.submit(GenerationJob(prompts: [slow.encode("x")], maxTokens: 3))
        #expect(try await next.collect().map(\.completionTokens) == [3])
    }

    @Test func rejectsJobsThatDoNotFitTheContext() async throws {
        let engine = InferenceEngine(backend: backend)
        await #expect(throws: ServingError.self) {
            _ = try await engine.submit(
                GenerationJob(prompts: [Array(repeating: 65, count: 100)], maxTokens: 29))
        }
    }
}
