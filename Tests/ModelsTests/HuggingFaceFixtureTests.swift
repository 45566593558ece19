import Foundation
import Models
import Testing
import TensorCore

/// Checkpoints written by `transformers` itself (`scripts/make-hf-fixtures.py`): each family's
/// directory is loaded with the normal loader and must give the logits and mean NLL that
/// transformers computed for the same tokens.
@Suite struct HuggingFaceFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hf")
    static let cases = [
        "llama-gqa-llama3", "llama-linear-tied-bias-bf16-sharded", "mistral", "qwen2-tied",
        "qwen3-headdim", "gpt2", "gpt2-f16",
    ]

    struct Expected {
        var tokens: [Int32]
        var batch: Int
        var length: Int
        var vocab: Int
        var modelType: String
        var savedDType: String
        var logits: [Float]
        var nll: Double
    }

    static func expected(_ name: String) throws -> Expected {
        let url = directory.appendingPathComponent(name).appendingPathComponent("expected.json")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return Expected(
            tokens: (doc["tokens"] as! [Int]).map(Int32.init), batch: doc["batch"] as! Int,
            length: doc["length"] as! Int, vocab: doc["vocab"] as! Int,
            modelType: doc["model_type"] as! String, savedDType: doc["saved_dtype"] as! String,
            logits: (doc["logits"] as! [Double]).map(Float.init), nll: doc["nll"] as! Double)
    }

    static func run(_ name: String) -> RunDirectory { RunDirectory(directory.appendingPathComponent(name)) }

    /// Mean next-token NLL of the rows, in nats.
    static func meanNLL(_ logits: [Float], _ e: Expected) -> Double {
        var total = 0.0
        for b in 0..<e.batch {
            for t in 0..<(e.length - 1) {
                let row = logits[((b * e.length + t) * e.vocab)..<((b * e.length + t + 1) * e.vocab)].map(
                    Double.init)
                let m = row.max()!
                let logZ = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
                total += logZ - row[Int(e.tokens[b * e.length + t + 1])]
            }
        }
        return total / Double(e.batch * (e.length - 1))
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test(arguments: cases)
    func logitsMatchTransformers(name: String) throws {
        let e = try Self.expected(name)
        let model = try Transformer.load(from: Self.run(name))
        #expect(model.config.family.rawValue == e.modelType)
        #expect(model.storageDType.rawValue == e.savedDType)
        let logits = model.forward(tokens: e.tokens, batchSize: e.batch, length: e.length).scalars
        #expect(logits.count == e.logits.count)
        // Same weights (bf16 ones widened exactly), Float32 arithmetic on both sides.
        let difference = Self.maxDifference(logits, e.logits)
        #expect(difference < (e.savedDType == "float32" ? 1e-4 : 3e-4), "\(name): max |Δlogit| \(difference)")
        #expect(
            abs(Self.meanNLL(logits, e) - e.nll) < 2e-3, "\(name): NLL \(Self.meanNLL(logits, e)) vs \(e.nll)"
        )
    }

    /// The fixtures are sensitive to what they test: without its RoPE scaling a scaled model's
    /// logits move far beyond the tolerance.
    @Test(arguments: ["llama-gqa-llama3", "llama-linear-tied-bias-bf16-sharded"])
    func ropeScalingChangesTheLogits(name: String) throws {
        let e = try Self.expected(name)
        let loaded = try Transformer.load(from: Self.run(name))
        #expect(loaded.config.ropeScaling != nil)
        var config = loaded.config
        config.ropeScaling = nil
        let plain = try Transformer(config: config, seed: 0)
        for (p, q) in zip(plain.parameters, loaded.parameters) { p.value = q.value }
        let logits = plain.forward(tokens: e.tokens, batchSize: e.batch, length: e.length).scalars
        #expect(Self.maxDifference(logits, e.logits) > 1e-2)
    }

    /// Written back by our writer (keeping the dtype it was loaded in), a model reloads with the
    /// same config and logits and the same size on disk. With RLHF_HF_EXPORT_DIR set the runs are
    /// also left there for `scripts/check-hf-interop.py --roundtrip`, which loads them in
    /// transformers.
    @Test(arguments: cases)
    func writtenRunReloadsIdentically(name: String) throws {
        let e = try Self.expected(name)
        let model = try Transformer.load(from: Self.run(name))
        let base: URL
        if let export = ProcessInfo.processInfo.environment["RLHF_HF_EXPORT_DIR"] {
            base = URL(fileURLWithPath: export)
        } else {
            base = FileManager.default.temporaryDirectory.appendingPathComponent(
                "hf-roundtrip-\(UUID().uuidString)")
        }
        let out = RunDirectory(base.appendingPathComponent(name))
        defer {
            if ProcessInfo.processInfo.environment["RLHF_HF_EXPORT_DIR"] == nil {
                try? FileManager.default.removeItem(at: base)
            }
        }
        try out.create()
        try model.config.save(to: out.config)
        let weights = model.encodedWeights()
        try weights.write(to: out.model)
        try FileManager.default.copyItem(
            at: Self.run(name).file("expected.json"), to: out.file("expected.json"))

        let reloaded = try Transformer.load(from: out)
        #expect(reloaded.config == model.config)
        let original = model.forward(tokens: e.tokens, batchSize: e.batch, length: e.length).scalars
        let again = reloaded.forward(tokens: e.tokens, batchSize: e.batch, length: e.length).scalars
        #expect(original == again)
        let bytesPerScalar = e.savedDType == "float32" ? 4 : 2
        #expect(
            weights.count < model.parameterCount * bytesPerScalar + 16_384, "\(name): \(weights.count) bytes")
    }
}

/// Checkpoints of the base model (`GPT2Model`, `Qwen2Model`: names without `transformer.` /
/// `model.`), with GPT-2's causal-mask buffers and old Llama-style `inv_freq` buffers, load as
/// the same model.
@Test(arguments: ["gpt2", "qwen2-tied"])
func baseModelLayoutsAndBuffersLoad(name: String) throws {
    let e = try HuggingFaceFixtureTests.expected(name)
    let source = HuggingFaceFixtureTests.run(name)
    let file = try SafeTensors(contentsOf: source.model)
    var tensors: [(name: String, tensor: Tensor)] = []
    for entry in file.entries {
        let short = entry.name.replacingOccurrences(of: "transformer.", with: "").replacingOccurrences(
            of: "model.", with: "")
        tensors.append((short, try file.tensor(named: entry.name)))
    }
    tensors.append(("h.0.attn.bias", Tensor(shape: [1, 1, 4, 4], repeating: 1)))
    tensors.append(("h.0.attn.masked_bias", Tensor(shape: [], scalars: [-1e4])))
    tensors.append(("layers.0.self_attn.rotary_emb.inv_freq", Tensor(shape: [4])))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("base-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = RunDirectory(dir)
    try run.create()
    try FileManager.default.copyItem(at: source.config, to: run.config)
    try SafeTensors.encode(tensors).write(to: run.model)
    let model = try Transformer.load(from: run)
    let logits = model.forward(tokens: e.tokens, batchSize: e.batch, length: e.length).scalars
    #expect(HuggingFaceFixtureTests.maxDifference(logits, e.logits) < 1e-4)
    // An unknown tensor is still reported.
    try SafeTensors.encode(tensors + [("h.0.attn.extra", Tensor(shape: [1]))]).write(to: run.model)
    #expect { _ = try Transformer.load(from: run) } throws: {
        "\($0)".contains("unexpected tensors (1): h.0.attn.extra")
    }
}
