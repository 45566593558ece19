import Foundation
import Testing
@testable import TensorCore

private func random(_ n: Int, seed: UInt64) -> [Float] {
    var rng = RandomGenerator(seed: seed)
    return (0..<n).map { _ in rng.nextNormal() }
}

/// Why the bf16 tests cannot run here, or nil when oneDNN's bf16 matmul works on this CPU.
let bf16Unavailable: String? = {
    if case .failure(let reason) = BF16Matmul.probe() { return reason.description }
    return nil
}()

@Suite struct MixedPrecisionTests {
    @Test func roundingToBF16IsNearestEven() {
        #expect(BF16Matmul.bf16(1) == 0x3F80)
        #expect(BF16Matmul.bf16(-2) == 0xC000)
        // 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷: ties go to the even mantissa (1).
        #expect(BF16Matmul.bf16(1 + 1 / 256) == 0x3F80)
        // 1 + 3·2⁻⁸ lies halfway between 1 + 2⁻⁷ and 1 + 2⁻⁶: the even one is 1 + 2⁻⁶.
        #expect(BF16Matmul.bf16(1 + 3 / 256) == 0x3F82)
        #expect(BF16Matmul.bf16(1 + 1 / 256 + 1 / 65536) == 0x3F81)
        #expect(BF16Matmul.float(BF16Matmul.bf16(.infinity)) == .infinity)
        #expect(BF16Matmul.float(BF16Matmul.bf16(.nan)).isNaN)
        // The vector path (16 at a time) rounds as the scalar one, tails included.
        let values = random(3 * 37, seed: 5).map { $0 * 1000 }
        var out = [UInt16](repeating: 0, count: 3 * 37)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer {
                BF16Matmul.convert(
                    src.baseAddress!, rows: 3, columns: 37, stride: 37,
                    into: $0.baseAddress!)
            }
        }
        #expect(out == values.map(BF16Matmul.bf16))
    }

    @Test func cpuFlagsDecideAuto() {
        let zen3 = CPUFeatures(cpuinfo: "model name\t: AMD EPYC 7763\nflags\t\t: fpu avx2 fma avx512f\n")
        #expect(zen3.modelName == "AMD EPYC 7763" && !zen3.hasFastBF16)
        let choice = MatmulPrecision.choose(.auto, cpu: zen3)
        #expect(choice.active == .fp32 && choice.detail.contains("no bf16 instructions"))
        let spr = CPUFeatures(
            cpuinfo: "model name\t: Intel Xeon\nflags\t\t: avx512f avx512_bf16 amx_bf16 amx_tile\n")
        #expect(spr.avx512BF16 && spr.amxBF16)
        #expect(MatmulPrecision.choose(.fp32, cpu: spr).active == .fp32)
        let zen4 = CPUFeatures(cpuinfo: "model name\t: AMD EPYC\nflags\t\t: avx512f avx512_bf16\n")
        #expect(zen4.summary == "AMD EPYC (avx512_bf16)")
    }

    /// Every transpose combination, strided operands, alpha and beta: the bf16 product equals the
    /// exact product of the bf16-rounded inputs up to fp32 summation error.
    @Test(
        .enabled(if: bf16Unavailable == nil, "oneDNN bf16 matmul unavailable"),
        arguments: [(false, false), (false, true), (true, false), (true, true)],
        [(70, 66, 90), (300, 90, 100), (90, 300, 100)])
    func bf16ProductMatchesRoundedInputs(transposes: (Bool, Bool), size: (Int, Int, Int)) {
        // The larger sizes are split over the workers by rows of C, then by columns.
        let (transposeA, transposeB) = transposes
        let (m, n, k) = size, pad = 3
        let aRows = transposeA ? k : m, aCols = transposeA ? m : k, lda = aCols + pad
        let bRows = transposeB ? n : k, bCols = transposeB ? k : n, ldb = bCols + pad
        let a = random(aRows * lda, seed: 1), b = random(bRows * ldb, seed: 2), c0 = random(m * n, seed: 3)
        func product() -> [Float] {
            var c = c0
            MatmulPrecision.$override.withValue(.bf16) {
                #expect(BLAS.usesBF16(m: m, n: n, k: k))
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            BLAS.gemm(
                                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5,
                                a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: 2,
                                c: pc.baseAddress!, ldc: n, mixed: true)
                        }
                    }
                }
            }
            return c
        }
        let c = product()
        // Blocks run concurrently on shared primitives: the result must not depend on timing.
        #expect(product() == c)
        let r = { (x: Float) in Double(BF16Matmul.float(BF16Matmul.bf16(x))) }
        var worstRounded = 0.0, worstExact = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var rounded = 0.0, exact = 0.0
                for p in 0..<k {
                    let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    rounded += r(av) * r(bv)
                    exact += Double(av) * Double(bv)
                }
                let got = Double(c[i * n + j]), base = 2 * Double(c0[i * n + j])
                worstRounded = max(worstRounded, abs(got - (0.5 * rounded + base)))
                worstExact = max(worstExact, abs(got - (0.5 * exact + base)))
            }
        }
        #expect(worstRounded < 1e-4)
        // …and it did round: the fp32 product differs by far more (bf16 keeps 8 mantissa bits).
        #expect(worstExact > 1e-3 && worstExact < 0.2)
    }

    /// Small products, one-row products and products inside a parallel loop stay fp32.
    @Test func smallAndNestedProductsStayFP32() {
        MatmulPrecision.$override.withValue(.bf16) {
            #expect(!BLAS.usesBF16(m: 8, n: 4096, k: 4096))
            #expect(!BLAS.usesBF16(m: 16, n: 16, k: 16))
            Parallel.forEach(2, costPerItem: Int.max / 4) { _ in
                #expect(!BLAS.usesBF16(m: 512, n: 512, k: 512))
            }
        }
        MatmulPrecision.$override.withValue(.fp32) { #expect(!BLAS.usesBF16(m: 512, n: 512, k: 512)) }
    }
}
