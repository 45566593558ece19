import Foundation
import TensorCore

/// Shape checks and size limits. Every number may come from a hostile `config.json`, so each is
/// range-checked before any product is formed, products use overflow-checked arithmetic, and the
/// whole model's Float32 size is compared with the machine's memory before anything is allocated.
extension ModelConfig {
    /// Upper bounds on single settings: far above any real model, low enough that no product of
    /// them overflows and no single table is absurd.
    public enum Limits {
        public static let vocabSize = 1 << 24
        public static let hiddenSize = 65_536
        public static let layerCount = 1_024
        public static let headCount = 1_024
        public static let headDimension = 4_096
        public static let intermediateSize = 1 << 20
        public static let contextLength = 1 << 20
    }

    /// Checks that the shapes fit together and stay within `Limits`; the message says which
    /// setting is wrong and why.
    public func validate() throws(ModelConfigError) {
        func fail(_ m: String) -> ModelConfigError { ModelConfigError(message: m) }
        let bounded: [(String, Int, Int)] = [
            ("vocab size", vocabSize, Limits.vocabSize), ("hidden size", hiddenSize, Limits.hiddenSize),
            ("layers", layerCount, Limits.layerCount), ("heads", headCount, Limits.headCount),
            ("key/value heads", kvHeadCount, Limits.headCount),
            ("intermediate size", intermediateSize, Limits.intermediateSize),
            ("context length", contextLength, Limits.contextLength),
        ]
        for (name, value, limit) in bounded {
            guard value > 0 else { throw fail("\(name) must be positive, got \(value)") }
            guard value <= limit else { throw fail("\(name) \(value) exceeds the limit \(limit)") }
        }
        if let d = explicitHeadDimension {
            guard d > 0, d <= Limits.headDimension else {
                throw fail("head dimension \(d) is outside 1...\(Limits.headDimension)")
            }
        } else if hiddenSize % headCount != 0 {
            throw fail("heads (\(headCount)) must divide the hidden size (\(hiddenSize))")
        }
        guard headCount % kvHeadCount == 0 else {
            throw fail("key/value heads (\(kvHeadCount)) must divide the heads (\(headCount))")
        }
        guard normEpsilon.isFinite, normEpsilon > 0 else {
            throw fail("norm epsilon must be positive, got \(normEpsilon)")
        }
        if usesRotary {
            if headDimension % 2 != 0 {
                throw fail("rotary embeddings need an even head dimension, got \(headDimension)")
            }
            guard ropeTheta.isFinite, ropeTheta > 0 else {
                throw fail("rope theta must be positive, got \(ropeTheta)")
            }
            try validate(ropeScaling)
        } else {
            guard ropeScaling == nil else {
                throw fail("GPT-2 style models have no rotary embeddings to scale")
            }
        }
        if family == .gpt2 {
            guard explicitHeadDimension == nil else {
                throw fail("GPT-2 style models have head size hidden/heads")
            }
            guard kvHeadCount == headCount else {
                throw fail("GPT-2 style models have no grouped-query heads")
            }
            guard tieEmbeddings else { throw fail("GPT-2 style models tie the input and output embeddings") }
        }
        for (name, id) in [("bos token id", bosTokenID), ("pad token id", padTokenID)]
            + eosTokenIDs.map({ ("eos token id", $0) })
        {
            if let id, !(0..<vocabSize).contains(id) {
                throw fail("\(name) \(id) is outside the vocabulary (0..<\(vocabSize))")
            }
        }
        let bytes = try float32Bytes()
        let memory = ProcessInfo.processInfo.physicalMemory
        guard UInt64(bytes) <= memory else {
            throw fail(
                "the model needs \(Self.gigabytes(bytes)) as Float32 (\(parameterCountEstimate) parameters), "
                    + "more than this machine's \(Self.gigabytes(Int(clamping: memory)))")
        }
    }

    private func validate(_ scaling: RotaryScaling?) throws(ModelConfigError) {
        func fail(_ m: String) -> ModelConfigError { ModelConfigError(message: "rope scaling: \(m)") }
        switch scaling {
        case nil: return
        case .linear(let factor):
            guard factor.isFinite, factor >= 1 else { throw fail("factor must be at least 1, got \(factor)") }
        case let .llama3(factor, low, high, original):
            guard factor.isFinite, factor >= 1 else { throw fail("factor must be at least 1, got \(factor)") }
            guard low.isFinite, high.isFinite, low > 0, high > low else {
                throw fail("need 0 < low_freq_factor < high_freq_factor, got \(low) and \(high)")
            }
            guard original > 0, original <= Limits.contextLength else {
                throw fail(
                    "original_max_position_embeddings \(original) is outside 1...\(Limits.contextLength)")
            }
        }
    }

    /// Parameters of the model this config builds (after `validate()`'s bounds, no overflow).
    public var parameterCountEstimate: Int { (try? parameterCount()) ?? .max }

    /// Bytes of the parameters as Float32 plus the rotary tables.
    func float32Bytes() throws(ModelConfigError) -> Int {
        let parameters = try parameterCount()
        let rotary = usesRotary ? try Self.product([contextLength, headDimension]) : 0
        return try Self.product([try Self.sum([parameters, rotary]), 4])
    }

    func parameterCount() throws(ModelConfigError) -> Int {
        let c = hiddenSize, d = headDimension, i = intermediateSize, v = vocabSize
        let q = headCount * d, kv = kvHeadCount * d
        var perLayer: [Int] = []
        switch family {
        case .gpt2:
            perLayer = [
                try Self.product([c, 3 * c]), 3 * c, try Self.product([c, c]), c, 4 * c,
                try Self.product([2, c, i]), i, c,
            ]
        case .llama, .mistral, .qwen2, .qwen3:
            perLayer = [
                try Self.product([c, q + 2 * kv]), try Self.product([q, c]), 2 * c,
                try Self.product([3, c, i]),
            ]
            if projectionBias { perLayer.append(q + 2 * kv) }
            if outputBias { perLayer.append(c) }
            if mlpBias { perLayer.append(2 * i + c) }
            if queryKeyNorm { perLayer.append(2 * d) }
        }
        let layers = try Self.product([layerCount, try Self.sum(perLayer)])
        var total = [try Self.product([v, c]), layers, 2 * c]
        if family == .gpt2 { total.append(try Self.product([contextLength, c])) }
        if !tieEmbeddings { total.append(try Self.product([v, c])) }
        return try Self.sum(total)
    }

    static func product(_ factors: [Int]) throws(ModelConfigError) -> Int {
        var result = 1
        for f in factors {
            let (p, overflow) = result.multipliedReportingOverflow(by: f)
            guard !overflow else {
                throw ModelConfigError(message: "model size overflows (factors \(factors))")
            }
            result = p
        }
        return result
    }

    static func sum(_ terms: [Int]) throws(ModelConfigError) -> Int {
        var result = 0
        for t in terms {
            let (s, overflow) = result.addingReportingOverflow(t)
            guard !overflow else { throw ModelConfigError(message: "model size overflows") }
            result = s
        }
        return result
    }

    static func gigabytes(_ bytes: Int) -> String { String(format: "%.1f GB", Double(bytes) / 1e9) }
}
