import Foundation

/// A LoRA adapter's settings, read from and written as PEFT's `adapter_config.json` so that
/// `PeftModel.from_pretrained(base, dir)` loads our adapters and we load PEFT's.
public struct LoRAConfig: Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    public var dropout: Float
    /// Module names (the last component: `q_proj`, `c_attn`) that get an adapter.
    public var targets: [String]
    /// `base_model_name_or_path`: the base run, absolute or relative to the adapter's directory.
    public var baseModel: String
    /// A reward model's adapter (PEFT's `SEQ_CLS`): the score head trains in full and is saved
    /// with the adapter (`modules_to_save`, tensor `base_model.model.score.weight`).
    public var savesScoreHead: Bool

    public init(
        rank: Int, alpha: Float, dropout: Float = 0, targets: [String], baseModel: String,
        savesScoreHead: Bool = false
    ) {
        self.savesScoreHead = savesScoreHead
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
        self.baseModel = baseModel
    }

    /// Every attention and MLP projection of the family (PEFT's names for them).
    public static func defaultTargets(for family: ModelConfig.Family) -> [String] {
        switch family {
        case .gpt2: ["c_attn", "c_proj", "c_fc"]
        default: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        }
    }

    public static let fileName = "adapter_config.json"
    public static let weightsFileName = "adapter_model.safetensors"
    /// PEFT's prefix of every saved tensor name (`PeftModel.base_model.model`).
    public static let tensorPrefix = "base_model.model."

    /// Problems a user can fix (non-positive rank, dropout outside [0, 1), no targets).
    public func validate(source: String) throws(LoRAError) {
        if rank < 1 { throw LoRAError(source: source, reason: "r (rank) must be at least 1, got \(rank)") }
        if !alpha.isFinite || alpha <= 0 {
            throw LoRAError(source: source, reason: "lora_alpha must be positive, got \(alpha)")
        }
        if !(0..<1).contains(dropout) {
            throw LoRAError(source: source, reason: "lora_dropout must be in [0, 1), got \(dropout)")
        }
        if targets.isEmpty { throw LoRAError(source: source, reason: "target_modules is empty") }
    }

    /// PEFT's `adapter_config.json` (the fields `LoraConfig` writes that matter for loading).
    public func json(fanInFanOut: Bool) -> Data {
        let object: [String: Any] = [
            "peft_type": "LORA", "task_type": savesScoreHead ? "SEQ_CLS" : "CAUSAL_LM", "r": rank,
            "lora_alpha": Double(alpha),
            "lora_dropout": Double(dropout), "target_modules": targets, "base_model_name_or_path": baseModel,
            "bias": "none", "fan_in_fan_out": fanInFanOut, "inference_mode": true, "use_rslora": false,
            "use_dora": false, "init_lora_weights": true,
            "modules_to_save": savesScoreHead ? ["classifier", "score"] as Any : NSNull(),
            "layers_to_transform": NSNull(), "rank_pattern": [String: Any](),
            "alpha_pattern": [String: Any](),
        ]
        return try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// Reads PEFT's file; refuses variants we do not compute (rsLoRA, DoRA, biases, per-layer
    /// patterns) rather than loading them wrongly.
    public static func read(_ url: URL) throws -> LoRAConfig {
        let source = url.path
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
            else {
                throw LoRAError(source: source, reason: "not a JSON object")
            }
            object = o
        } catch let error as LoRAError { throw error } catch {
            throw LoRAError(source: source, reason: "cannot read: \(error.localizedDescription)")
        }
        func fail(_ reason: String) -> LoRAError { LoRAError(source: source, reason: reason) }
        if let type = object["peft_type"] as? String, type != "LORA" {
            throw fail("peft_type \"\(type)\" is not supported (only LORA)")
        }
        let task = object["task_type"] as? String
        if let task, task != "CAUSAL_LM" && task != "SEQ_CLS" {
            throw fail("task_type \"\(task)\" is not supported (CAUSAL_LM, or SEQ_CLS for a reward model)")
        }
        let saved = object["modules_to_save"] as? [String] ?? []
        if !saved.allSatisfy({ $0 == "score" || $0 == "classifier" }) {
            throw fail("modules_to_save \(saved) is not supported (only a reward model's score head)")
        }
        for flag in ["use_rslora", "use_dora", "use_qalora", "lora_bias"]
        where (object[flag] as? Bool) == true {
            throw fail("\(flag): true is not supported")
        }
        if let bias = object["bias"] as? String, bias != "none" {
            throw fail("bias \"\(bias)\" is not supported")
        }
        for key in ["rank_pattern", "alpha_pattern"] {
            if let p = object[key] as? [String: Any], !p.isEmpty { throw fail("\(key) is not supported") }
        }
        for key in [
            "layers_to_transform", "exclude_modules", "target_parameters", "layer_replication",
            "trainable_token_indices",
        ] where !(object[key] is NSNull || object[key] == nil) {
            throw fail("\(key) is not supported")
        }
        guard let rank = (object["r"] as? NSNumber)?.intValue else {
            throw fail("field r: missing or not a number")
        }
        guard let alpha = (object["lora_alpha"] as? NSNumber)?.floatValue else {
            throw fail("field lora_alpha: missing or not a number")
        }
        let dropout = (object["lora_dropout"] as? NSNumber)?.floatValue ?? 0
        let targets: [String]
        if let list = object["target_modules"] as? [String] {
            targets = list
        } else if let one = object["target_modules"] as? String {
            throw fail("target_modules as a regular expression (\"\(one)\") is not supported; list the names")
        } else {
            throw fail("field target_modules: missing or not a list of names")
        }
        guard let base = object["base_model_name_or_path"] as? String, !base.isEmpty else {
            throw fail("field base_model_name_or_path: missing (the base model's directory)")
        }
        let config = LoRAConfig(
            rank: rank, alpha: alpha, dropout: dropout, targets: targets, baseModel: base,
            savesScoreHead: task == "SEQ_CLS" || saved.contains("score"))
        try config.validate(source: source)
        return config
    }
}

/// A LoRA file or setting that cannot be used, naming the file (or option) and why.
public struct LoRAError: Error, CustomStringConvertible, Sendable, Equatable {
    public var source: String
    public var reason: String
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
    public var description: String { "\(source): \(reason)" }
}
