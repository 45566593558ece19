import Models
import Testing
import TensorCore

@Suite struct DecodeSessionTests {
    /// Runs `request` to `count` tokens in `session`, stepping whatever else is in it too.
    static func run(_ session: DecodeSession, _ request: DecodeRequest, count: Int) -> [Int32] {
        let first = session.admit([request])[0]
        var tokens = [first.token]
        while tokens.count < count {
            tokens += session.step().filter { $0.slot == first.slot }.map(\.token)
        }
        session.release(slot: first.slot)
        return tokens
    }

    /// One row of a session is `generate` with the same seed (greedy and sampled), in every family.
    @Test(arguments: TinyConfigs.all)
    func oneRowMatchesGenerate(config: ModelConfig) throws {
        let model = try Transformer(config: config, seed: 5)
        scramble(model, seed: 6)
        let prompt = randomTokens(5, vocab: config.vocabSize, seed: 7)
        for distribution in [TokenDistribution(temperature: 0), TokenDistribution(temperature: 1, topK: 20)] {
            var rng = RandomGenerator(seed: 42)
            let expected = model.generate(
                prompts: [prompt], options: SamplingOptions(distribution, maxNewTokens: 12), rng: &rng)[0]
                .tokens
            let session = DecodeSession(model: model, slots: 3)
            let request = DecodeRequest(
                prompt: prompt, distribution: distribution, seed: 42, maxNewTokens: 12)
            #expect(Self.run(session, request, count: 12) == expected)
        }
    }

    /// With int8 decoding copies, a session decodes as `generate` does with them: the copies are
    /// used in the session's prefill and steps too. One large weight in (nearly) every row makes
    /// int8's per-row step coarse enough that fp32 decoding draws other tokens.
    @Test func int8RowsMatchInt8Generate() throws {
        let config = TinyConfigs.llama
        let model = try Transformer(config: config, seed: 5)
        scramble(model, seed: 6)
        for p in model.parameters where p.shape.count == 2 && p.decays {
            let columns = p.shape[1]
            p.value.withUnsafeMutableBufferPointer { w in
                for i in stride(from: 0, to: w.count, by: columns + 1) { w[i] *= 300 }
            }
        }
        let prompt = randomTokens(5, vocab: config.vocabSize, seed: 7)
        let sampled = TokenDistribution(temperature: 1)
        func generated() -> [Int32] {
            var rng = RandomGenerator(seed: 42)
            return model.generate(
                prompts: [prompt], options: SamplingOptions(sampled, maxNewTokens: 16), rng: &rng)[0].tokens
        }
        let fp32 = generated()
        model.quantizeForDecoding(.int8)
        let expected = generated()
        try #require(expected != fp32, "the int8 copies must change the draw for this test to mean anything")
        let session = DecodeSession(model: model, slots: 2)
        let request = DecodeRequest(prompt: prompt, distribution: sampled, seed: 42, maxNewTokens: 16)
        #expect(Self.run(session, request, count: 16) == expected)
    }

    /// A seeded row draws the same tokens alone and when rows join and leave around it.
    @Test func aSeededRowIgnoresItsNeighbours() throws {
        let config = TinyConfigs.llama
        let model = try Transformer(config: config, seed: 3)
        scramble(model, seed: 4)
        let sampled = TokenDistribution(temperature: 1)
        let request = DecodeRequest(
            prompt: randomTokens(4, vocab: config.vocabSize, seed: 1), distribution: sampled, seed: 9,
            maxNewTokens: 16)
        let alone = Self.run(DecodeSession(model: model, slots: 1), request, count: 16)

        let session = DecodeSession(model: model, slots: 4)
        let early = session.admit([
            DecodeRequest(
                prompt: randomTokens(7, vocab: config.vocabSize, seed: 2), distribution: sampled, seed: 1,
                maxNewTokens: 30),
            DecodeRequest(
                prompt: randomTokens(2, vocab: config.vocabSize, seed: 3),
                distribution: TokenDistribution(temperature: 0), seed: 2, maxNewTokens: 30),
        ])
        for _ in 0..<3 { _ = session.step() }
        let slot = session.admit([request])[0]
        var tokens = [slot.token]
        var step = 0
        while tokens.count < 16 {
            if step == 4 { session.release(slot: early[0].slot) }  // a neighbour leaves
            if step == 6 {  // another joins, with a longer prompt (the prefill runs mid-flight)
                _ = session.admit([
                    DecodeRequest(
                        prompt: randomTokens(9, vocab: config.vocabSize, seed: 4), distribution: sampled,
                        seed: 3, maxNewTokens: 5)
                ])
            }
            tokens += session.step().filter { $0.slot == slot.slot }.map(\.token)
            step += 1
        }
        #expect(tokens == alone)
        #expect(session.occupiedSlots.count == 3)
    }

    /// Rows stop at the context length: a full row gets no more tokens; its slot is reusable.
    @Test func aFullRowGetsNoMoreTokensAndItsSlotIsReused() throws {
        let config = TinyConfigs.llama
        let model = try Transformer(config: config, seed: 3)
        let session = DecodeSession(model: model, slots: 1)
        let ctx = config.contextLength
        let request = DecodeRequest(
            prompt: randomTokens(ctx - 3, vocab: config.vocabSize, seed: 1),
            distribution: TokenDistribution(temperature: 0), seed: 0, maxNewTokens: 1)
        let first = session.admit([request])[0]
        // Prompt ctx − 3 + first token: two more tokens fill the context.
        #expect(session.step().count == 1)
        #expect(session.step().count == 1)
        #expect(!session.hasRoom(slot: first.slot))
        #expect(session.step().isEmpty)
        session.release(slot: first.slot)
        #expect(session.freeSlots == [0])
        var rng = RandomGenerator(seed: 0)
        let short = randomTokens(3, vocab: config.vocabSize, seed: 2)
        let expected = model.generate(
            prompts: [short], options: SamplingOptions(temperature: 0, maxNewTokens: 4), rng: &rng)[0].tokens
        #expect(
            Self.run(
                session,
                DecodeRequest(
                    prompt: short, distribution: TokenDistribution(temperature: 0), seed: 0, maxNewTokens: 4),
                count: 4) == expected)
    }
}
