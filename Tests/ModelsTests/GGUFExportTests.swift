import Foundation
@testable import Models
import TensorCore
import Testing

@Suite struct GGUFExportTests {
    static func model(_ config: ModelConfig, seed: UInt64 = 3) throws -> Transformer {
        let model = try Transformer(config: config, seed: seed)
        scramble(model, seed: seed)
        return model
    }

    static func export(
        _ model: Transformer, type: GGUFExporter.FileType = .f32, alignment: Int = 32,
        tokenizer: GGUFExporter.TokenizerMetadata? = nil
    ) throws -> GGUFTestReader {
        let file = try GGUFExporter.file(
            model: model, tokenizer: tokenizer,
            options: .init(type: type, name: "tiny", alignment: alignment))
        return try GGUFTestReader(file.encoded())
    }

    static func value(_ model: Transformer, _ name: String) -> Tensor {
        model.parameters.first { $0.name == name }!.value
    }

    @Test(arguments: [32, 64])
    func headerKeyValuesAndAlignment(alignment: Int) throws {
        let model = try Self.model(TinyConfigs.llama)
        let r = try Self.export(model, alignment: alignment)
        #expect(r.version == 3)
        #expect(r.alignment == alignment)
        // general.alignment is written only when it is not the default (as gguf-py does).
        #expect((r.uint("general.alignment") != nil) == (alignment != 32))
        #expect(r.string("general.architecture") == "llama")
        #expect(r.string("general.name") == "tiny")
        #expect(r.uint("llama.context_length") == 24)
        #expect(r.uint("llama.embedding_length") == 8)
        #expect(r.uint("llama.block_count") == 2)
        #expect(r.uint("llama.feed_forward_length") == 12)
        #expect(r.uint("llama.attention.head_count") == 4)
        #expect(r.uint("llama.attention.head_count_kv") == 2)
        #expect(r.uint("llama.rope.dimension_count") == 2)
        #expect(r.uint("llama.attention.key_length") == 2 && r.uint("llama.attention.value_length") == 2)
        #expect(r.uint("llama.vocab_size") == 13)
        #expect(r.float("llama.rope.freq_base") == 10_000)
        #expect(abs(r.float("llama.attention.layer_norm_rms_epsilon")! - 1e-5) < 1e-9)
        #expect(r.uint("general.file_type") == 0)
        // u32 for counts, f32 for floats: llama.cpp refuses a key of the wrong type.
        #expect(r.valueTypes["llama.block_count"] == 4 && r.valueTypes["llama.rope.freq_base"] == 6)
        #expect(r.dataStart % alignment == 0)
        for info in r.tensors { #expect(info.offset % alignment == 0, "\(info.name) at \(info.offset)") }
        // The file ends padded after the last tensor.
        #expect(r.bytes.count % alignment == 0)
        let names = Set(r.tensors.map(\.name))
        #expect(
            names == [
                "token_embd.weight", "output_norm.weight", "output.weight",
                "blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight",
                "blk.0.attn_output.weight", "blk.0.ffn_norm.weight", "blk.0.ffn_gate.weight",
                "blk.0.ffn_up.weight",
                "blk.0.ffn_down.weight",
                "blk.1.attn_norm.weight", "blk.1.attn_q.weight", "blk.1.attn_k.weight", "blk.1.attn_v.weight",
                "blk.1.attn_output.weight", "blk.1.ffn_norm.weight", "blk.1.ffn_gate.weight",
                "blk.1.ffn_up.weight",
                "blk.1.ffn_down.weight",
            ])
        // Dimensions are stored reversed (GGML order): the embedding is {n_embd, n_vocab}.
        #expect(r.tensor("token_embd.weight")!.dims == [8, 13])
        #expect(r.tensor("blk.0.attn_k.weight")!.dims == [8, 4])
        #expect(
            r.floats("blk.1.ffn_down.weight")
                == Self.value(model, "model.layers.1.mlp.down_proj.weight").scalars)
        #expect(r.floats("token_embd.weight") == Self.value(model, "model.embed_tokens.weight").scalars)
    }

    @Test func permutationMatchesLlamaCppLayoutAndInverts() throws {
        // One head of 4 rows: rotate-half pairs (0, 2), (1, 3) become adjacent pairs (0, 1), (2, 3).
        let t = Tensor(shape: [4, 1], scalars: [0, 1, 2, 3])
        #expect(GGUFExporter.permuteRotaryRows(t, heads: 1).scalars == [0, 2, 1, 3])
        // numpy: reshape(heads, 2, D/2, ...).swapaxes(1, 2) of rows 0…7, two heads of 4 or one of 8.
        let eight = Tensor(shape: [8], scalars: (0..<8).map(Float.init))
        #expect(GGUFExporter.permuteRotaryRows(eight, heads: 1).scalars == [0, 4, 1, 5, 2, 6, 3, 7])
        #expect(GGUFExporter.permuteRotaryRows(eight, heads: 2).scalars == [0, 2, 1, 3, 4, 6, 5, 7])
        // Head size 4 (with head size 2 the permutation is the identity), biases on q/k/v.
        let config = ModelConfig(
            family: .llama, vocabSize: 13, hiddenSize: 16, layerCount: 2, headCount: 4,
            kvHeadCount: 2, intermediateSize: 12, contextLength: 24, attentionBias: true,
            tieEmbeddings: false)
        let model = try Self.model(config)
        let r = try Self.export(model)
        for layer in 0..<2 {
            for (proj, heads) in [("q", 4), ("k", 2)] {
                for kind in ["weight", "bias"] {
                    let hf = Self.value(model, "model.layers.\(layer).self_attn.\(proj)_proj.\(kind)")
                    let stored = r.floats("blk.\(layer).attn_\(proj).\(kind)")
                    #expect(stored != hf.scalars)
                    let back = GGUFExporter.unpermuteRotaryRows(
                        Tensor(shape: hf.shape, scalars: stored), heads: heads)
                    #expect(back.scalars == hf.scalars)
                }
            }
            // v is not rotated and stays as it is.
            #expect(
                r.floats("blk.\(layer).attn_v.bias")
                    == Self.value(model, "model.layers.\(layer).self_attn.v_proj.bias").scalars)
        }
    }

    @Test func qwenFamiliesAreNotPermuted() throws {
        for config in [TinyConfigs.qwen2, TinyConfigs.qwen3] {
            let model = try Self.model(config)
            let r = try Self.export(model)
            let arch = config.family == .qwen2 ? "qwen2" : "qwen3"
            #expect(r.string("general.architecture") == arch)
            #expect(
                r.floats("blk.0.attn_q.weight")
                    == Self.value(model, "model.layers.0.self_attn.q_proj.weight").scalars)
            if config.family == .qwen2 {
                #expect(r.tensor("blk.0.attn_k.bias") != nil && r.tensor("output.weight") == nil)  // tied
            } else {
                #expect(r.tensor("blk.1.attn_q_norm.weight")!.dims == [6])
                #expect(r.uint("qwen3.attention.key_length") == 6)
                #expect(
                    r.string("qwen3.rope.scaling.type") == "linear"
                        && r.float("qwen3.rope.scaling.factor") == 2)
            }
        }
    }

    @Test func gpt2FusedAttentionIsTransposedToOutputMajor() throws {
        let model = try Self.model(TinyConfigs.gpt2)
        let r = try Self.export(model)
        #expect(r.string("general.architecture") == "gpt2")
        #expect(
            r.float("gpt2.attention.layer_norm_epsilon") != nil
                && r.uint("gpt2.attention.head_count_kv") == nil)
        let qkv = Self.value(model, "transformer.h.0.attn.c_attn.weight")  // Conv1D [in 8, out 24]
        #expect(qkv.shape == [8, 24])
        #expect(r.tensor("blk.0.attn_qkv.weight")!.dims == [8, 24])  // GGML {n_embd, 3·n_embd}
        let stored = r.floats("blk.0.attn_qkv.weight")  // [24, 8] row-major
        for o in 0..<24 { for i in 0..<8 { #expect(stored[o * 8 + i] == qkv.scalars[i * 24 + o]) } }
        #expect(r.tensor("position_embd.weight")!.dims == [8, 24])
        #expect(r.tensor("blk.1.attn_norm.bias") != nil && r.tensor("output_norm.bias") != nil)
        #expect(
            r.tensor("blk.1.ffn_up.weight")!.dims == [8, 32]
                && r.tensor("blk.1.ffn_down.weight")!.dims == [32, 8])
    }

    @Test func tensorTypesFollowTheConverter() throws {
        // Hidden 32 so that rows are whole Q8_0 blocks; the 12-wide MLP rows are not.
        let config = ModelConfig(
            family: .llama, vocabSize: 40, hiddenSize: 32, layerCount: 1, headCount: 4,
            intermediateSize: 12, contextLength: 16, tieEmbeddings: false)
        let model = try Self.model(config)
        let types: [(GGUFExporter.FileType, UInt32)] = [(.f32, 0), (.f16, 1), (.bf16, 30), (.q8_0, 8)]
        for (fileType, ggml) in types {
            let r = try Self.export(model, type: fileType)
            #expect(r.tensor("blk.0.attn_q.weight")!.type == ggml)
            #expect(r.tensor("token_embd.weight")!.type == ggml)
            #expect(r.tensor("blk.0.attn_norm.weight")!.type == 0)
            #expect(r.tensor("output_norm.weight")!.type == 0)
            // ffn_down rows are 12 long: not whole Q8_0 blocks, so F16 as the converter falls back.
            #expect(r.tensor("blk.0.ffn_down.weight")!.type == (fileType == .q8_0 ? 1 : ggml))
            let hf = Self.value(model, "model.layers.0.self_attn.o_proj.weight").scalars
            let error = maxAbsDifference(r.floats("blk.0.attn_output.weight"), hf)
            let bound: Float =
                switch fileType {
                case .f32: 0
                case .f16: 2e-3
                case .bf16: 2e-2
                case .q8_0: 2e-2
                }
            #expect(error <= bound, "\(fileType): \(error)")
        }
        #expect(
            GGUFExporter.FileType(rawValue: "q4_0") == nil && GGUFExporter.FileType(rawValue: "f64") == nil)
    }

    @Test func q8_0BlocksDequantiseWithinHalfAStep() throws {
        var rng = RandomGenerator(seed: 11)
        let values = (0..<256).map { _ in Float(rng.nextNormal()) * 3 } + [Float](repeating: 0, count: 32)
        let bytes = values.withUnsafeBufferPointer { GGUFFile.encode($0, as: .q8_0) }
        #expect(bytes.count == 9 * 34)
        for block in 0..<9 {
            let chunk = Array(values[block * 32..<(block + 1) * 32])
            let amax = chunk.map(abs).max()!
            // Scale: f16 of max|x|/127, read by hand from the block's first two bytes.
            let d = GGUFFile.floatFromHalf(UInt16(bytes[block * 34]) | UInt16(bytes[block * 34 + 1]) << 8)
            #expect(abs(d - amax / 127) <= amax / 127 / 1024)
            for i in 0..<32 {
                let q = Float(Int8(bitPattern: bytes[block * 34 + 2 + i]))
                // Half a quantisation step, plus the scale's f16 rounding over up to 127 steps.
                #expect(abs(q * d - chunk[i]) <= d / 2 + 127 * abs(d - amax / 127) + 1e-6)
            }
        }
        // A value exactly halfway rounds away from zero (C roundf), not to even.
        let halfway: [Float] = [127, 1.5] + [Float](repeating: 0, count: 30)
        let q = halfway.withUnsafeBufferPointer { GGUFFile.encode($0, as: .q8_0) }
        #expect(Int8(bitPattern: q[3]) == 2)  // 1.5 → 2
        let negative: [Float] = [-127, -2.5] + [Float](repeating: 0, count: 30)
        let n = negative.withUnsafeBufferPointer { GGUFFile.encode($0, as: .q8_0) }
        #expect(Int8(bitPattern: n[2]) == -127 && Int8(bitPattern: n[3]) == -3)  // -2.5 → -3
    }

    @Test func llama3ScalingBecomesRopeFreqs() throws {
        let model = try Self.model(TinyConfigs.llamaBiased)
        let r = try Self.export(model, type: .f16)
        let info = try #require(r.tensor("rope_freqs.weight"))
        #expect(info.type == 0 && info.dims == [1])
        // llama.cpp divides each default frequency by its factor: that must equal our scaled ones.
        let config = TinyConfigs.llamaBiased
        let d = config.headDimension
        let base = (0..<d / 2).map { i in Float(1.0 / Foundation.pow(10_000.0, Double(2 * i) / Double(d))) }
        let scaled = config.ropeScaling!.apply(to: base)
        let factors = r.floats("rope_freqs.weight")
        for i in 0..<d / 2 { #expect(abs(base[i] / factors[i] - scaled[i]) <= 1e-6 * base[i]) }
        #expect(r.string("llama.rope.scaling.type") == nil)
        // A wider head exercises all three bands (kept, divided by factor, smoothed between).
        let wide = ModelConfig(
            family: .llama, vocabSize: 8, hiddenSize: 64, layerCount: 1, headCount: 1,
            contextLength: 64, ropeTheta: 10_000,
            ropeScaling: .llama3(
                factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4,
                originalContextLength: 64))
        let wideFactors = GGUFExporter.ropeFrequencyFactors(wide)
        let wideBase = (0..<32).map { i in Float(1.0 / Foundation.pow(10_000.0, Double(2 * i) / 64)) }
        let wideScaled = wide.ropeScaling!.apply(to: wideBase)
        #expect(wideFactors.first == 1 && wideFactors.last == 8 && wideFactors.contains { $0 > 1 && $0 < 8 })
        for i in 0..<32 { #expect(abs(wideBase[i] / wideFactors[i] - wideScaled[i]) <= 1e-5 * wideBase[i]) }
    }
}
