import Foundation
import Models
import NN
import Testing
import TensorCore

/// LoRA adapters written by PEFT itself (`scripts/make-peft-fixtures.py`) on the transformers
/// fixtures: they load onto their base with PEFT's names and give PEFT's logits; ours are written
/// with the same names and reload exactly.
@Suite struct LoRATransformerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let cases = ["mistral", "qwen2-tied", "gpt2"]

    static func adapter(_ name: String) -> RunDirectory {
        RunDirectory(fixtures.appendingPathComponent("lora").appendingPathComponent(name))
    }

    static func expected(_ name: String) throws -> (tokens: [Int32], batch: Int, length: Int, logits: [Float])
    {
        let url = adapter(name).file("expected.json")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (
            (doc["tokens"] as! [Int]).map(Int32.init), doc["batch"] as! Int, doc["length"] as! Int,
            (doc["logits"] as! [Double]).map(Float.init)
        )
    }

    /// The base named by the adapter's `base_model_name_or_path` (relative to the adapter).
    static func base(_ name: String) throws -> Transformer {
        let config = try LoRAConfig.read(adapter(name).loraConfig)
        return try Transformer.load(from: adapter(name).loraBase(config))
    }

    static func logits(_ model: Transformer, _ e: (tokens: [Int32], batch: Int, length: Int, logits: [Float]))
        -> [Float]
    {
        model.forward(tokens: e.tokens, batchSize: e.batch, length: e.length).scalars
    }

    @Test(arguments: cases)
    func peftAdapterGivesPEFTLogits(name: String) throws {
        let e = try Self.expected(name)
        let model = try Self.base(name)
        let baseLogits = Self.logits(model, e)
        let config = try Self.adapter(name).loadLoRAAdapter(into: model).config
        #expect(
            model.loraAdapters.count == model.config.layerCount
                * (name == "qwen2-tied" ? 3 : name == "gpt2" ? 4 : 7))
        #expect(config.rank == (name == "qwen2-tied" ? 2 : 4))
        let logits = Self.logits(model, e)
        let difference = maxAbsDifference(logits, e.logits)
        #expect(difference < 2e-4, "\(name): max |Δlogit| vs PEFT \(difference)")
        // The adapter matters: without it the logits are far from PEFT's.
        #expect(maxAbsDifference(baseLogits, e.logits) > 1, "\(name): adapter does not move the logits")
        // Disabled adapters are the base model exactly (the frozen reference of DPO and the rest).
        #expect(model.withLoRADisabled { Self.logits(model, e) } == baseLogits)
    }

    @Test(arguments: cases)
    func mergedEqualsUnmerged(name: String) throws {
        let e = try Self.expected(name)
        let model = try Self.base(name)
        try Self.adapter(name).loadLoRAAdapter(into: model)
        let unmerged = Self.logits(model, e)
        model.mergeLoRA()
        #expect(!model.hasLoRA)
        let difference = maxAbsDifference(Self.logits(model, e), unmerged)
        #expect(difference < 1e-4, "\(name): merged vs unmerged \(difference)")
    }

    /// Written by us: PEFT's tensor names and shapes, PEFT's config values; reloads to identical logits.
    @Test(arguments: cases)
    func savedAdapterReloadsIdentically(name: String) throws {
        let e = try Self.expected(name)
        let model = try Self.base(name)
        let config = try Self.adapter(name).loadLoRAAdapter(into: model).config
        let logits = Self.logits(model, e)
        let out = RunDirectory(
            FileManager.default.temporaryDirectory
                .appendingPathComponent("lora-\(name)-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: out.url) }
        var ours = config
        ours.baseModel = Self.adapter(name).loraBase(config).url.path
        try out.writeLoRAAdapter(of: model, config: ours)

        let peftFile = try SafeTensors(contentsOf: Self.adapter(name).loraWeights)
        let ourFile = try SafeTensors(contentsOf: out.loraWeights)
        #expect(
            Set(ourFile.entries.map { "\($0.name) \($0.shape)" })
                == Set(peftFile.entries.map { "\($0.name) \($0.shape)" }))
        for entry in peftFile.entries {
            #expect(
                try ourFile.tensor(named: entry.name).scalars == peftFile.tensor(named: entry.name).scalars)
        }
        let peftJSON =
            try JSONSerialization.jsonObject(with: Data(contentsOf: Self.adapter(name).loraConfig))
            as! [String: Any]
        let ourJSON =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.loraConfig)) as! [String: Any]
        for key in ["peft_type", "task_type", "bias"] {
            #expect(ourJSON[key] as? String == peftJSON[key] as? String, "\(key)")
        }
        for key in ["fan_in_fan_out", "use_rslora", "use_dora", "inference_mode"] {
            #expect(ourJSON[key] as? Bool == peftJSON[key] as? Bool, "\(key)")
        }
        #expect((ourJSON["r"] as? NSNumber)?.intValue == (peftJSON["r"] as? NSNumber)?.intValue)
        #expect(
            (ourJSON["lora_alpha"] as? NSNumber)?.doubleValue
                == (peftJSON["lora_alpha"] as? NSNumber)?.doubleValue)
        #expect(Set(ourJSON["target_modules"] as! [String]) == Set(peftJSON["target_modules"] as! [String]))

        let reloaded = try Transformer.load(from: RunDirectory(path: ours.baseModel))
        let again = try out.loadLoRAAdapter(into: reloaded).config
        #expect(again == ours)
        #expect(Self.logits(reloaded, e) == logits)
    }

    @Test func unknownTargetAndUnsupportedVariantsAreErrors() throws {
        let model = try Self.base("mistral")
        let bad = LoRAConfig(rank: 2, alpha: 4, targets: ["q_proj", "c_attn"], baseModel: "x")
        #expect(throws: LoRAError.self) { try model.attachLoRA(bad, seed: 0) }
        #expect(!model.hasLoRA)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lora-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: Self.adapter("mistral").loraConfig))
            as! [String: Any]
        json["use_dora"] = true
        let url = directory.appendingPathComponent("adapter_config.json")
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        #expect { try LoRAConfig.read(url) } throws: { "\($0)".contains("use_dora") }
    }

    /// Defaults: every projection of the family gets an adapter; B zero leaves logits unchanged.
    @Test(arguments: ["mistral", "gpt2"])
    func freshAdaptersOnEveryProjection(name: String) throws {
        let e = try Self.expected(name)
        let model = try Self.base(name)
        let before = Self.logits(model, e)
        try model.attachLoRA(
            LoRAConfig(
                rank: 2, alpha: 4, targets: LoRAConfig.defaultTargets(for: model.config.family),
                baseModel: "b"), seed: 1)
        #expect(model.loraAdapters.count == model.projections.count)
        #expect(model.trainableParameters.count == 2 * model.projections.count)
        #expect(Self.logits(model, e) == before)
    }
}

/// For `scripts/check-peft.py` (developer check, skipped unless LORA_PEFT_EXPORT names a directory):
/// writes adapters made and saved by us, with random A and B, on each base fixture, and our logits,
/// for PEFT to load with `PeftModel.from_pretrained` and compare.
@Test(.enabled(if: ProcessInfo.processInfo.environment["LORA_PEFT_EXPORT"] != nil))
func exportAdaptersForPEFT() throws {
    let root = URL(fileURLWithPath: ProcessInfo.processInfo.environment["LORA_PEFT_EXPORT"]!)
    for name in LoRATransformerTests.cases {
        let e = try LoRATransformerTests.expected(name)
        let model = try LoRATransformerTests.base(name)
        let targets =
            name == "qwen2-tied"
            ? ["k_proj", "o_proj", "up_proj"] : LoRAConfig.defaultTargets(for: model.config.family)
        let baseDirectory = LoRATransformerTests.adapter(name).loraBase(
            try LoRAConfig.read(LoRATransformerTests.adapter(name).loraConfig))
        let config = LoRAConfig(rank: 3, alpha: 5, targets: targets, baseModel: baseDirectory.url.path)
        try model.attachLoRA(config, seed: 11)
        var rng = RandomGenerator(seed: 12)
        for p in model.loraParameters { p.value = .randomNormal(shape: p.shape, std: 0.3, rng: &rng) }
        let out = RunDirectory(root.appendingPathComponent(name))
        try out.writeLoRAAdapter(of: model, config: config)
        let logits = LoRATransformerTests.logits(model, e)
        let doc: [String: Any] = [
            "tokens": e.tokens.map(Int.init), "batch": e.batch, "length": e.length,
            "logits": logits.map(Double.init),
        ]
        try JSONSerialization.data(withJSONObject: doc).write(to: out.file("ours.json"))
    }
}
