import NN
import TensorCore

extension TensorSource {
    /// Replaces every parameter's value with its tensor, after checking all names, dtypes and
    /// shapes at once (`TensorMismatchError`), and returns `extraTensors` (e.g. a reward head's
    /// `score.weight`) in order. Tensors are converted one at a time, so memory holds at most
    /// one tensor beyond the model.
    ///
    /// Accepts the layouts `transformers` writes for the same weights: a base model saved without
    /// its head (`h.0.attn.c_attn.weight` for `transformer.h.0.attn.c_attn.weight`, `layers.0…`
    /// for `model.layers.0…`), GPT-2's causal-mask buffers (`….attn.bias`, `….attn.masked_bias`),
    /// old Llama `rotary_emb.inv_freq` buffers (recomputed from the config), and an
    /// `lm_head.weight` beside tied embeddings.
    @discardableResult
    public func loadParameters(
        _ parameters: [Parameter], extraTensors: [(name: String, shape: [Int])] = [],
        ignoring: Set<String> = []
    ) throws -> [Tensor] {
        let wanted = parameters.map { (name: $0.name, shape: $0.shape) } + extraTensors
        let expected = wanted.map { (name: storedName(of: $0.name), shape: $0.shape) }
        let expectedNames = Set(expected.map(\.name))
        var ignored = ignoring
        if !expectedNames.contains("lm_head.weight") { ignored.insert("lm_head.weight") }
        for e in entries where !expectedNames.contains(e.name) && Self.isDerivedBuffer(e.name) {
            ignored.insert(e.name)
        }
        try validate(expected: expected, ignoring: ignored)
        for (p, e) in zip(parameters, expected) { p.value = try tensor(named: e.name) }
        return try expected[parameters.count...].map { (e) throws(SafeTensorsError) -> Tensor in
            try tensor(named: e.name)
        }
    }

    /// The name `name` has here: itself, or without the base-model prefix when only that exists.
    func storedName(of name: String) -> String {
        if entry(named: name) != nil { return name }
        for prefix in ["model.", "transformer."] where name.hasPrefix(prefix) {
            let short = String(name.dropFirst(prefix.count))
            if entry(named: short) != nil { return short }
        }
        return name
    }

    /// Buffers that PyTorch modules saved alongside weights, derived from the config, not learned.
    static func isDerivedBuffer(_ name: String) -> Bool {
        name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")
            || name.hasSuffix(".rotary_emb.inv_freq")
    }
}
