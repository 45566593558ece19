import Foundation
import NN
import TensorCore

/// LoRA on a transformer: adapters on the attention and MLP projections named in
/// `LoRAConfig.targets`; the base weights stay as loaded (one copy serves as the frozen reference:
/// `withLoRADisabled`).
extension Transformer {
    /// Every attention and MLP projection, layer by layer, in Hugging Face order.
    public var projections: [Linear] {
        blocks.flatMap { $0.attention.projections + $0.mlp.projections }
    }

    /// The attached adapters, in `projections` order.
    public var loraAdapters: [LoRAAdapter] { projections.compactMap(\.lora) }

    /// What an optimizer trains when adapters are attached: every A and B, nothing else.
    public var loraParameters: [Parameter] { loraAdapters.flatMap(\.parameters) }

    public var hasLoRA: Bool { projections.contains { $0.lora != nil } }

    /// Attaches fresh adapters (A drawn from `seed`, B zero) to the projections whose last name
    /// component is in `config.targets`. A target that matches no projection is an error (as in
    /// PEFT), naming the model's projection names.
    public func attachLoRA(_ config: LoRAConfig, seed: UInt64, source: String = "--lora-targets")
        throws(LoRAError)
    {
        try config.validate(source: source)
        precondition(!hasLoRA, "Transformer.attachLoRA: adapters already attached")
        let layers = projections
        let names = Set(layers.map { String($0.moduleName.split(separator: ".").last!) })
        let unknown = config.targets.filter { !names.contains($0) }
        if !unknown.isEmpty {
            throw LoRAError(
                source: source,
                reason: "target module(s) \(unknown.joined(separator: ", ")) not in "
                    + "this \(self.config.family) model; its projections are \(names.sorted().joined(separator: ", "))"
            )
        }
        var rng = RandomGenerator(seed: seed)
        for layer in layers
        where config.targets.contains(String(layer.moduleName.split(separator: ".").last!)) {
            layer.attachLoRA(rank: config.rank, alpha: config.alpha, dropout: config.dropout, rng: &rng)
        }
        // Every base weight is frozen (norms, embeddings and head too): backward computes input
        // gradients through them, never their own.
        for p in parameters { p.requiresGradient = false }
    }

    /// Dropout on (training) or off (evaluation, reference passes, generation).
    public func setLoRATraining(_ training: Bool) {
        for a in loraAdapters { a.training = training }
    }

    /// Runs `body` on the base model (adapters bypassed), e.g. the frozen reference's log-probs.
    public func withLoRADisabled<R>(_ body: () throws -> R) rethrows -> R {
        let adapters = loraAdapters
        for a in adapters { a.enabled = false }
        defer { for a in adapters { a.enabled = true } }
        return try body()
    }

    /// Folds every adapter into its weight (W += α/r · BA) and removes the adapters.
    public func mergeLoRA() {
        for layer in projections { layer.mergeLoRA() }
        for p in parameters { p.requiresGradient = true }
    }

    /// Whether PEFT stores this family's projections as `Conv1D` (`fan_in_fan_out: true`).
    public var loraFanInFanOut: Bool { config.family == .gpt2 }
}

extension RunDirectory {
    public var loraConfig: URL { file(LoRAConfig.fileName) }
    public var loraWeights: URL { file(LoRAConfig.weightsFileName) }

    /// Whether this directory holds a LoRA adapter (PEFT's `adapter_config.json`).
    public var hasLoRAAdapter: Bool { FileManager.default.fileExists(atPath: loraConfig.path) }

    /// The base model's directory of the adapter here: `base_model_name_or_path`, absolute or
    /// relative to this directory.
    public func loraBase(_ config: LoRAConfig) -> RunDirectory {
        config.baseModel.hasPrefix("/")
            ? RunDirectory(path: config.baseModel)
            : RunDirectory(url.appendingPathComponent(config.baseModel, isDirectory: true))
    }

    /// Writes `adapter_config.json` and `adapter_model.safetensors` as PEFT's `save_pretrained`
    /// does (tensor names `base_model.model.<module>.lora_A.weight`, Float32); a reward model's
    /// score head (`config.savesScoreHead`) as `base_model.model.score.weight`.
    public func writeLoRAAdapter(of model: Transformer, config: LoRAConfig, scoreHead: Parameter? = nil)
        throws
    {
        precondition(
            (scoreHead != nil) == config.savesScoreHead, "writeLoRAAdapter: score head and config disagree")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let files = Self.loraAdapterFiles(of: model, config: config, scoreHead: scoreHead)
        try AtomicFileWriter.write(files[1].data, to: loraWeights)
        try AtomicFileWriter.write(files[0].data, to: loraConfig)
    }

    /// The contents of `adapter_config.json` and `adapter_model.safetensors` (in that order), as
    /// `writeLoRAAdapter` writes them; a checkpoint stages them with its other files.
    public static func loraAdapterFiles(
        of model: Transformer, config: LoRAConfig, scoreHead: Parameter? = nil,
        metadata: [String: String] = [:]
    ) -> [(name: String, data: Data)] {
        var tensors = model.loraParameters.map { (name: LoRAConfig.tensorPrefix + $0.name, tensor: $0.value) }
        if let scoreHead { tensors.append((LoRAConfig.tensorPrefix + "score.weight", scoreHead.value)) }
        return [
            (LoRAConfig.fileName, config.json(fanInFanOut: model.loraFanInFanOut)),
            (
                LoRAConfig.weightsFileName,
                SafeTensors.encode(tensors, metadata: metadata.merging(["format": "pt"]) { $1 })
            ),
        ]
    }

    /// Attaches the adapter stored here to `model` (its base weights already loaded) and loads
    /// A and B; every tensor must be present with the right shape and nothing else may be. A
    /// reward model's adapter also returns its score head's weight (1, hidden).
    @discardableResult
    public func loadLoRAAdapter(into model: Transformer) throws -> (config: LoRAConfig, score: Tensor?) {
        let config = try LoRAConfig.read(loraConfig)
        try model.attachLoRA(config, seed: 0, source: loraConfig.path)
        let parameters = model.loraParameters
        let file = try SafeTensors(contentsOf: loraWeights)
        var expected = parameters.map { (LoRAConfig.tensorPrefix + $0.name, $0.shape) }
        if config.savesScoreHead {
            expected.append((LoRAConfig.tensorPrefix + "score.weight", [1, model.config.hiddenSize]))
        }
        let tensors = try file.load(expected: expected)
        for (p, t) in zip(parameters, tensors) { p.value = t }
        return (config, config.savesScoreHead ? tensors.last : nil)
    }
}

extension Transformer {
    /// What a stage's optimizer updates: the adapters' A and B when adapters are attached (the
    /// base is frozen), otherwise every parameter.
    public var trainableParameters: [Parameter] { hasLoRA ? loraParameters : parameters }
}
