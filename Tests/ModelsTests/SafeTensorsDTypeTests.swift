import Foundation
import Models
import TensorCore
import Testing

/// Writing BF16 and F16 (so a bf16 model is saved at its size): round to nearest even, as
/// torch's `.to(torch.bfloat16)` / `.half()` do.
@Suite struct SafeTensorsDTypeTests {
    static func bits(_ values: [Float], _ dtype: SafeTensors.DType) throws -> [UInt16] {
        let data = SafeTensors.encode([("x", Tensor(shape: [values.count], scalars: values))], dtype: dtype)
        let file = try SafeTensors(data: data)
        #expect(file.entry(named: "x")?.dtype == dtype)
        let start = data.count - 2 * values.count
        return (0..<values.count).map { UInt16(data[start + 2 * $0]) | UInt16(data[start + 2 * $0 + 1]) << 8 }
    }

    @Test func bfloat16RoundsToNearestEven() throws {
        let values: [Float] = [
            1, -3, 1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-8 + 0x1p-20, .greatestFiniteMagnitude, 0x1p-130,
            .infinity, -0.0,
        ]
        #expect(
            try Self.bits(values, .bf16) == [
                0x3F80, 0xC040, 0x3F80, 0x3F82, 0x3F81, 0x7F80, 0x0008, 0x7F80, 0x8000,
            ])
        let nan = try Self.bits([.nan], .bf16)[0]
        #expect(nan & 0x7F80 == 0x7F80 && nan & 0x7F != 0)
    }

    @Test func halfRoundsToNearestEvenWithSubnormalsAndOverflow() throws {
        let values: [Float] = [
            1, -2, 0.1, 65504, 65519, 65520, 0x1p-24, 0x1p-25, 1.5 * 0x1p-25, 3 * 0x1p-25, 0x1p-14,
            -.infinity,
        ]
        #expect(
            try Self.bits(values, .f16) == [
                0x3C00, 0xC000, 0x2E66, 0x7BFF, 0x7BFF, 0x7C00, 0x0001, 0x0000, 0x0001,
                0x0002, 0x0400, 0xFC00,
            ])
        #expect(try Self.bits([.nan], .f16)[0] & 0x7E00 == 0x7E00)
    }

    /// (Expected bit patterns: torch 2.15 `.to(torch.bfloat16)` / `.half()` of the same values.)
    /// Written in a half dtype and read back, every value is its rounding (and the file is half
    /// the size of the F32 one).
    @Test(arguments: [SafeTensors.DType.bf16, .f16])
    func halfDTypesRoundTrip(dtype: SafeTensors.DType) throws {
        var rng = RandomGenerator(seed: 5)
        let t = Tensor.randomNormal(shape: [64, 33], std: 3, rng: &rng)
        let data = SafeTensors.encode([("t", t)], dtype: dtype)
        let back = try SafeTensors(data: data).tensor(named: "t")
        let tolerance: Float = dtype == .bf16 ? 0x1p-8 : 0x1p-11  // half an ulp, relative
        for i in 0..<t.count {
            #expect(abs(back[flat: i] - t[flat: i]) <= abs(t[flat: i]) * tolerance + 1e-7)
        }
        // Idempotent: the rounded values are representable exactly.
        #expect(
            try SafeTensors(data: SafeTensors.encode([("t", back)], dtype: dtype)).tensor(named: "t") == back)
        #expect(data.count < SafeTensors.encode([("t", t)]).count / 2 + 256)
    }

    /// A model keeps the dtype it was loaded in and writes it back that way unless told otherwise.
    @Test func modelKeepsItsStorageDType() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dtype-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = RunDirectory(dir)
        try run.create()
        let config = ModelConfig(
            family: .qwen3, vocabSize: 32, hiddenSize: 16, layerCount: 1, headCount: 2,
            intermediateSize: 32, contextLength: 16, headDimension: 12, tieEmbeddings: false)
        let model = try Transformer(config: config, seed: 3)
        try config.save(to: run.config)
        try model.encodedWeights(dtype: .bfloat16).write(to: run.model)
        let loaded = try Transformer.load(from: run)
        #expect(loaded.storageDType == .bfloat16)
        let written = try SafeTensors(data: loaded.encodedWeights())
        #expect(written.entries.allSatisfy { $0.dtype == .bf16 })
        loaded.storageDType = .float32
        #expect(try SafeTensors(data: loaded.encodedWeights()).entries.allSatisfy { $0.dtype == .f32 })
        let json = try JSONSerialization.jsonObject(with: loaded.config.huggingFaceJSON()) as! [String: Any]
        #expect(json["torch_dtype"] as? String == "float32" && json["dtype"] as? String == "float32")
    }
}

/// A model built to be loaded draws no weights: matrices zero, norm gains one.
@Test func modelWithoutSeedIsZeroUntilLoaded() throws {
    let model = try Transformer(config: TinyConfigs.qwen3, seed: nil)
    for p in model.parameters {
        let expected: Float = p.name.hasSuffix("norm.weight") || p.name.hasSuffix("layernorm.weight") ? 1 : 0
        #expect(p.value.scalars.allSatisfy { $0 == expected }, "\(p.name)")
    }
    #expect(
        try Transformer(config: TinyConfigs.qwen3, seed: 0).parameters[0].value.scalars.contains { $0 != 0 })
}
