import Foundation
import Testing
import TensorCore
@testable import Models

@Suite struct NGramModelTests {
    /// A small corpus with some repetition, vocabulary 5.
    static let corpus: [[Int32]] = [[0, 1, 2, 0, 1, 3, 0, 1, 2, 4], [1, 2, 2, 3], [4, 0, 1]]

    static let smoothings: [NGramModel.Smoothing] = [
        .addK(0.1), .addK(1), .kneserNey(modified: false), .kneserNey(modified: true),
    ]

    @Test(arguments: [1, 2, 3])
    func probabilitiesSumToOneForEveryContext(order: Int) throws {
        for smoothing in Self.smoothings {
            let model = try NGramModel(
                order: order, vocabSize: 5, smoothing: smoothing, sequences: Self.corpus)
            // Every context of up to order−1 tokens over the vocabulary, seen or not.
            var contexts: [[Int32]] = [[]]
            for length in 1..<max(order, 1) {
                contexts += contexts.filter { $0.count == length - 1 }.flatMap { c in
                    (0..<5).map { c + [Int32($0)] }
                }
            }
            for context in contexts {
                let p = model.probabilities(context: context)
                #expect(abs(p.reduce(0, +) - 1) < 1e-12, "\(smoothing) order \(order) context \(context)")
                #expect(p.allSatisfy { $0 > 0 })
                for token in 0..<5 {
                    #expect(abs(model.probability(of: Int32(token), context: context) - p[token]) < 1e-12)
                }
            }
        }
    }

    /// Bigram, plain interpolated Kneser–Ney, vocabulary {a=0, b=1, c=2}, one text "a b a b c".
    @Test func kneserNeyHandChecked() throws {
        let model = try NGramModel(
            order: 2, vocabSize: 3, smoothing: .kneserNey(modified: false), sequences: [[0, 1, 0, 1, 2]])
        // Raw bigram counts: ab 2, ba 1, bc 1 → count-of-counts n1 = 2, n2 = 1, Y = 2/(2+2) = 0.5 = D.
        // Continuation unigrams (distinct predecessors; the text start counts as one):
        //   a: {b, start} = 2, b: {a} = 1, c: {b} = 1; total 4; n1 = 2, n2 = 1 → D = 0.5.
        //   γ = 0.5·3/4 = 0.375 over uniform 1/3 = 0.125 each:
        //   P1(a) = 1.5/4 + 0.125 = 0.5, P1(b) = 0.5/4 + 0.125 = 0.25, P1(c) = 0.25.
        // After a: c(a·) = 2, only b (twice): γ = 0.5·1/2 = 0.25.
        //   P(b|a) = 1.5/2 + 0.25·0.25 = 0.8125, P(a|a) = 0.25·0.5 = 0.125, P(c|a) = 0.25·0.25 = 0.0625.
        // After b: a once, c once: γ = 0.5·2/2 = 0.5.
        //   P(a|b) = 0.5/2 + 0.5·0.5 = 0.5, P(b|b) = 0.5·0.25 = 0.125, P(c|b) = 0.25 + 0.5·0.25 = 0.375.
        // After c (never a context): all mass to the continuation unigram.
        // Empty context (first token): raw unigrams a 2, b 2, c 1 (total 5); n1 = 1, n2 = 2,
        //   D = 1/(1+4) = 0.2, γ = 0.2·3/5 = 0.12 → P(a) = 1.8/5 + 0.04 = 0.4, P(b) = 0.4, P(c) = 0.2.
        let expected: [[Int32]: [Double]] = [
            [0]: [0.125, 0.8125, 0.0625],
            [1]: [0.5, 0.125, 0.375],
            [2]: [0.5, 0.25, 0.25],
            []: [0.4, 0.4, 0.2],
        ]
        for (context, p) in expected {
            let got = model.probabilities(context: context)
            for i in 0..<3 {
                #expect(abs(got[i] - p[i]) < 1e-12, "P(\(i) | \(context)) = \(got[i]), expected \(p[i])")
            }
        }
    }

    @Test func modifiedDiscountsFromCountOfCounts() {
        // n1 = 4, n2 = 2, n3 = 1, n4 = 1: Y = 4/(4+4) = 0.5; D1 = 1 − 2·0.5·2/4 = 0.5,
        // D2 = 2 − 3·0.5·1/2 = 1.25, D3+ = 3 − 4·0.5·1/1 = 1.
        var row = NGramModel.Row()
        for (token, count) in [(0, 1), (1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 3), (7, 4)] {
            row.add(Int32(token), count)
        }
        let d = NGramModel.estimateDiscounts([[]: row], modified: true)
        #expect(abs(d.d1 - 0.5) < 1e-12 && abs(d.d2 - 1.25) < 1e-12 && abs(d.d3 - 1) < 1e-12)
        let plain = NGramModel.estimateDiscounts([[]: row], modified: false)
        #expect(plain.d1 == 0.5 && plain.d2 == 0.5 && plain.d3 == 0.5)
    }

    @Test func addKHandChecked() throws {
        // Bigram add-k, k = 0.5, V = 3, text "a b a b c": after a: b twice → (2+0.5)/(2+1.5) = 5/7.
        let model = try NGramModel(
            order: 2, vocabSize: 3, smoothing: .addK(0.5), sequences: [[0, 1, 0, 1, 2]])
        let p = model.probabilities(context: [0])
        #expect(abs(p[1] - 5.0 / 7) < 1e-12 && abs(p[0] - 1.0 / 7) < 1e-12)
        // c never precedes anything: back off to the add-k unigram (a 2, b 2, c 1): (2+0.5)/(5+1.5).
        #expect(abs(model.probability(of: 0, context: [2]) - 2.5 / 6.5) < 1e-12)
    }

    @Test(arguments: [1, 7, 256])
    func uniformModelPerplexityIsVocabularySize(vocabSize: Int) throws {
        let text: [[Int32]] = [(0..<50).map { Int32($0 % vocabSize) }]
        for smoothing in Self.smoothings {
            // no counts: uniform
            let model = try NGramModel(order: 3, vocabSize: vocabSize, smoothing: smoothing)
            let result = try model.evaluate(sequences: text, byteCount: 50)
            #expect(result.tokenCount == 50)
            #expect(abs(result.perplexity - Double(vocabSize)) < 1e-9 * Double(vocabSize))
            // One byte per token: bits per byte = log2 V.
            #expect(abs(result.bitsPerByte! - log2(Double(vocabSize))) < 1e-9)
        }
    }

    @Test func trainedModelBeatsUniformOnItsText() throws {
        let model = try NGramModel(
            order: 3, vocabSize: 5, smoothing: .kneserNey(modified: true), sequences: Self.corpus)
        let result = try model.evaluate(sequences: Self.corpus)
        #expect(result.perplexity < 3)
        #expect(abs(result.natsPerToken - log(result.perplexity)) < 1e-12)
    }

    @Test func samplingIsReproducibleWithSeed() throws {
        let model = try NGramModel(
            order: 2, vocabSize: 5, smoothing: .kneserNey(modified: false), sequences: Self.corpus)
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42), c = RandomGenerator(seed: 43)
        let x = model.generate(prompt: [0], count: 200, temperature: 0.8, topK: 3, using: &a)
        let y = model.generate(prompt: [0], count: 200, temperature: 0.8, topK: 3, using: &b)
        let z = model.generate(prompt: [0], count: 200, temperature: 0.8, topK: 3, using: &c)
        #expect(x == y)
        #expect(x != z)
        // top-k 1 and temperature 0 are both greedy.
        var d = RandomGenerator(seed: 1)
        let greedy = model.generate(prompt: [0], count: 5, temperature: 0, using: &d)
        #expect(greedy == model.generate(prompt: [0], count: 5, temperature: 1, topK: 1, using: &d))
        #expect(greedy.first == 1)  // b follows a in every text
    }

    @Test func samplingFollowsTheDistribution() throws {
        let model = try NGramModel(
            order: 1, vocabSize: 3, smoothing: .addK(1), sequences: [[0, 0, 0, 0, 0, 0, 0, 1]])
        // P = (8/11, 2/11, 1/11)
        var rng = RandomGenerator(seed: 7)
        var counts = [0, 0, 0]
        for _ in 0..<11_000 { counts[Int(model.sample(context: [], using: &rng))] += 1 }
        #expect(abs(Double(counts[0]) - 8000) < 300 && abs(Double(counts[2]) - 1000) < 150)
        // top-k 2 never draws the least likely token.
        for _ in 0..<500 { #expect(model.sample(context: [], topK: 2, using: &rng) != 2) }
    }

    @Test func saveLoadIdentity() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ngram-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for smoothing in Self.smoothings {
            let model = try NGramModel(
                order: 3, vocabSize: 5, smoothing: smoothing, sequences: Self.corpus,
                metadata: ["tokenizer": "bytes"])
            let url = directory.appendingPathComponent("m.ngram")
            try model.save(to: url)
            let loaded = try NGramModel.load(from: url)
            #expect(loaded == model)
            #expect(loaded.probabilities(context: [0, 1]) == model.probabilities(context: [0, 1]))
            // Same model, same bytes.
            let first = try Data(contentsOf: url)
            try loaded.save(to: url)
            #expect(try Data(contentsOf: url) == first)
        }
    }

    @Test func corruptFilesGiveClearErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ngram-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.ngram")
        let model = try NGramModel(order: 2, vocabSize: 5, smoothing: .addK(0.1), sequences: Self.corpus)
        try model.save(to: url)
        let good = try Data(contentsOf: url)

        func message(_ bytes: Data) -> String {
            try? bytes.write(to: url)
            do { _ = try NGramModel.load(from: url); return "loaded" } catch { return "\(error)" }
        }
        #expect(message(Data("hello world, not a model".utf8)).contains("magic"))
        #expect(message(good.prefix(good.count - 20)).contains("checksum"))
        var flipped = good
        flipped[40] ^= 0xFF
        #expect(message(flipped).contains("checksum"))
        var version = good
        version[8] = 9
        #expect(message(version).contains("unsupported version 9"))
        #expect(message(good).contains("loaded"))
        do {
            _ = try NGramModel.load(from: directory.appendingPathComponent("missing"));
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("missing"))
        }
    }

    @Test func badInputThrows() {
        #expect(throws: NGramError.self) { try NGramModel(order: 0, vocabSize: 5, smoothing: .addK(1)) }
        #expect(throws: NGramError.self) { try NGramModel(order: 2, vocabSize: 5, smoothing: .addK(0)) }
        #expect(throws: NGramError.tokenOutOfRange(sequence: 1, position: 2, token: 9, vocabSize: 5)) {
            try NGramModel(order: 2, vocabSize: 5, smoothing: .addK(1), sequences: [[0], [1, 2, 9]])
        }
    }
}
