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

    @Test func concurrentJobsShareSteps() async throws {
        let slow = ScriptedBackend(contextLength: 128, stepDelay: .milliseconds(2))
        let engine = InferenceEngine(backend: slow, maxBatchRows: 8)
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
        #expect(statistics.largestBatch >= 2)
        // Six rows of 20 tokens (the first from the prefill): fewer steps than one at a time.
        #expect(statistics.steps < 6 * 19)
        #expect(slow.stepSizes.max()! >= 2)
    }

    /// The point of continuous batching: a job that arrives while another runs starts at the next
    /// step, not when the running one ends. Measured in the backend's steps.
    @Test func aJobArrivingMidRunStartsBeforeTheRunningOneEnds() async throws {
        let slow = ScriptedBackend(contextLength: 256, stepDelay: .milliseconds(2))
        let engine = InferenceEngine(backend: slow, maxBatchRows: 4)
        let long = String(repeating: "long ", count: 8)
        // A's steps wait until B is in line, so a test thread starved by other tests cannot let A
        // run to its end first.
        slow.holdSteps()
        let a = try await engine.submit(
            GenerationJob(
                prompts: [slow.encode(long)], maxTokens: 100, sampling: SamplingSettings(temperature: 0)))
        var events = a.events.makeAsyncIterator()
        _ = try await events.next()  // A is running (admitted; its steps wait)
        let b = try await engine.submit(
            GenerationJob(
                prompts: [slow.encode("b")], maxTokens: 100, sampling: SamplingSettings(temperature: 0)))
        slow.releaseSteps()
        #expect(try await b.collect().map(\.text) == ["You said: b. That is all I know."])
        var finished = false
        while let event = try await events.next() {
            if case .finished(_, .stop, _) = event { finished = true }
        }
        #expect(finished)
        let trace = slow.trace
        let firstB = try #require(trace.filter { $0.prompt == "b" }.map(\.step).min())
        let lastA = try #require(trace.filter { $0.prompt == long }.map(\.step).max())
        let lastB = try #require(trace.filter { $0.prompt == "b" }.map(\.step).max())
        #expect(firstB < lastA, "B's first token came at step \(firstB), A's last at \(lastA)")
        // B (33 tokens with its end) also left before A: it did not wait for A either.
        #expect(lastB < lastA)
        #expect(slow.stepSizes.contains(2))
    }

    @Test func rowsLeaveTheBatchIndependently() async throws {
        let slow = ScriptedBackend(contextLength: 128, stepDelay: .milliseconds(2))
        let engine = InferenceEngine(backend: slow, maxBatchRows: 4)
        let short = try await engine.submit(
            GenerationJob(
                prompts: [slow.encode("s")], maxTokens: 3, sampling: SamplingSettings(temperature: 0)))
        let long = try await engine.submit(
            GenerationJob(
                prompts: [slow.encode("l")], maxTokens: 20, sampling: SamplingSettings(temperature: 0)))
        #expect(try await short.collect().map(\.completionTokens) == [3])
        #expect(try await long.collect().map(\.completionTokens) == [20])
        // The short row took part in at most two steps (its first token comes from the prefill);
        // the long one went on alone.
        #expect(slow.stepSizes.filter { $0 == 2 }.count <= 2)
        #expect(slow.stepSizes.suffix(10).allSatisfy { $0 == 1 })
        #expect(slow.trace.filter { $0.prompt == "s" }.count == 3)
        #expect(slow.trace.filter { $0.prompt == "l" }.count == 20)
    }

    @Test func aSeededJobGivesTheSameTextAloneAndAlongsideOthers() async throws {
        let slow = ScriptedBackend(contextLength: 128, stepDelay: .milliseconds(10))
        let engine = InferenceEngine(backend: slow, maxBatchRows: 8)
        let seeded = GenerationJob(
            prompts: [slow.encode("a"), slow.encode("b")], choicesPerPrompt: 2, maxTokens: 60, seed: 5)
        let alone = try await engine.submit(seeded).collect()
        var others: [GenerationHandle] = []
        for i in 0..<3 {
            others.append(
                try await engine.submit(GenerationJob(prompts: [slow.encode("other \(i)")], maxTokens: 60)))
        }
        let together = try await engine.submit(seeded).collect()
        for other in others { _ = try await other.collect() }
        #expect(together == alone)
        #expect(slow.stepSizes.max()! > 4, "the seeded rows ran alongside the others")
    }

    @Test func aJobWithMoreRowsThanSlotsRunsInTurns() async throws {
        let engine = InferenceEngine(backend: backend, maxBatchRows: 2)
        let choices = try await engine.submit(
            GenerationJob(
                prompts: [backend.encode("a"), backend.encode("b")], choicesPerPrompt: 3, maxTokens: 60,
                sampling: SamplingSettings(temperature: 0))
        ).collect()
        #expect(choices.map(\.index) == Array(0..<6))
        #expect(
            choices.map(\.text) == Array(repeating: "You said: a. That is all I know.", count: 3)
                + Array(repeating: "You said: b. That is all I know.", count: 3))
        #expect(await engine.statistics.largestBatch == 2)
        #expect(backend.stepSizes.allSatisfy { $0 <= 2 })
    }

    @Test func cancellingStopsTheRowEarly() async throws {
        // A 39-character topic: every scripted reply is at least 61 bytes, 9 s at 150 ms a token,
        // so a cancel that lands late on a busy 2-core machine (other tests may hold both
        // cooperative threads for seconds, starving this reader while the worker thread keeps
        // decoding) still lands before the reply's end.
        let slow = ScriptedBackend(contextLength: 256, stepDelay: .milliseconds(150))
        let engine = InferenceEngine(backend: slow, maxBatchRows: 1)
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
        #expect(await engine.statistics.cancelledRows == 1)
        #expect(slow.trace.filter { $0.prompt == topic }.count < 61)
    }

    @Test func rejectsJobsThatDoNotFitTheContext() async throws {
        let engine = InferenceEngine(backend: backend)
        await #expect(throws: ServingError.self) {
            _ = try await engine.submit(
                GenerationJob(prompts: [Array(repeating: 65, count: 100)], maxTokens: 29))
        }
    }
}
