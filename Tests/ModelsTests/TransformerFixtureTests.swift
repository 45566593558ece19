import Foundation
import Models
import NN
import Testing
import TensorCore

/// Logits of tiny models against an independent NumPy implementation
/// (`scripts/make-fixtures.py`, float64), with the weights under their Hugging Face names.
@Suite struct TransformerFixtureTests {
    struct Fixture {
        var model: Transformer
        var tokens: [Int32]
        var batch: Int
        var length: Int
        var logits: [Float]
    }

    static func load(_ file: String) throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/\(file)")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let cfg = doc["config"] as! [String: Any]
        func int(_ k: String) -> Int { (cfg[k] as! NSNumber).intValue }
        func float(_ k: String) -> Float { (cfg[k] as! NSNumber).floatValue }
        let config: ModelConfig
        if doc["family"] as! String == "llama" {
            config = ModelConfig(
                family: .llama, vocabSize: int("vocab_size"), hiddenSize: int("hidden_size"),
                layerCount: int("num_hidden_layers"), headCount: int("num_attention_heads"),
                kvHeadCount: int("num_key_value_heads"), intermediateSize: int("intermediate_size"),
                contextLength: int("max_position_embeddings"), normEpsilon: float("rms_norm_eps"),
                ropeTheta: float("rope_theta"), tieEmbeddings: cfg["tie_word_embeddings"] as? Bool)
        } else {
            config = ModelConfig(
                family: .gpt2, vocabSize: int("vocab_size"), hiddenSize: int("n_embd"),
                layerCount: int("n_layer"), headCount: int("n_head"), contextLength: int("n_positions"),
                normEpsilon: float("layer_norm_epsilon"))
        }
        let model = try Transformer(config: config, seed: 0)
        let weights = doc["weights"] as! [String: [String: Any]]
        #expect(
            Set(weights.keys) == Set(model.parameters.map(\.name)),
            "parameter names differ from the checkpoint's")
        for p in model.parameters {
            guard let w = weights[p.name] else { continue }
            let shape = (w["shape"] as! [NSNumber]).map(\.intValue)
            #expect(shape == p.shape, "\(p.name): checkpoint shape \(shape), model \(p.shape)")
            p.value = Tensor(shape: shape, scalars: (w["data"] as! [NSNumber]).map(\.floatValue))
        }
        return Fixture(
            model: model, tokens: (doc["tokens"] as! [NSNumber]).map { Int32($0.intValue) },
            batch: (doc["batch"] as! NSNumber).intValue, length: (doc["length"] as! NSNumber).intValue,
            logits: (doc["logits"] as! [NSNumber]).map(\.floatValue))
    }

    @Test(arguments: ["tiny-llama.json", "tiny-gpt2.json"])
    func logitsMatchNumPyReference(file: String) throws {
        let f = try Self.load(file)
        let logits = f.model.forward(tokens: f.tokens, batchSize: f.batch, length: f.length)
        #expect(logits.shape == [f.batch, f.length, f.model.config.vocabSize])
        #expect(maxAbsDifference(logits.scalars, f.logits) < 2e-4)
        // The cached generation path sees the same numbers: greedy first token = argmax of the
        // reference's last logits.
        var rng = RandomGenerator(seed: 0)
        let v = f.model.config.vocabSize
        let row = Array(f.logits[((f.length - 1) * v)..<(f.length * v)])
        let next = f.model.generate(
            prompts: [Array(f.tokens[..<f.length])],
            options: SamplingOptions(temperature: 0, maxNewTokens: 1),
            rng: &rng)[0].tokens
        #expect(next == [Int32(row.indices.max { row[$0] < row[$1] }!)])
    }
}
