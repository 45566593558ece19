import Foundation
import Testing
@testable import TensorCore

private func random(_ n: Int, seed: UInt64, std: Float = 1) -> [Float] {
    var rng = RandomGenerator(seed: seed)
    return (0..<n).map { _ in rng.nextNormal() * std }
}

@Suite struct KernelTests {
    /// Small products go to one sgemm; large ones are split into row blocks (tall C) or column
    /// blocks (wide C) over the workers; every transpose combination in each regime.
    @Test(
        arguments: [(false, false), (false, true), (true, false), (true, true)],
        [(5, 7, 9), (300, 70, 120), (40, 330, 170), (1, 70, 120), (1, 900, 300), (3, 300, 70), (8, 41, 333)])
    func gemmMatchesNaiveProduct(transposes: (Bool, Bool), size: (Int, Int, Int)) {
        let (transposeA, transposeB) = transposes
        let (m, n, k) = size
        let a = Tensor(shape: transposeA ? [k, m] : [m, k], scalars: random(m * k, seed: 1))
        let b = Tensor(shape: transposeB ? [n, k] : [k, n], scalars: random(k * n, seed: 2))
        var c = Tensor(shape: [m, n], scalars: random(m * n, seed: 3))
        let c0 = c
        Tensor.matmul(a, b, transposeA: transposeA, transposeB: transposeB, alpha: 2, beta: 0.5, into: &c)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transposeA ? a[flat: p * m + i] : a[flat: i * k + p]
                    let bv = transposeB ? b[flat: j * k + p] : b[flat: p * n + j]
                    s += Double(av) * Double(bv)
                }
                let want = 2 * s + 0.5 * Double(c0[flat: i * n + j])
                #expect(abs(Double(c[flat: i * n + j]) - want) < 1e-4 * max(1, abs(want)))
            }
        }
    }

    /// A one-row product (the decoding path, served by gemv) with beta 0 ignores what C held.
    @Test(arguments: [false, true])
    func oneRowProductIgnoresOldOutput(transposeB: Bool) {
        let a = Tensor(shape: [1, 3], scalars: [1, 2, 3])
        let b = Tensor(
            shape: transposeB ? [2, 3] : [3, 2],
            scalars: transposeB ? [1, 0, 1, 0, 1, 0] : [1, 0, 0, 1, 1, 0])
        var c = Tensor(shape: [1, 2], scalars: [.nan, .infinity])
        Tensor.matmul(a, b, transposeB: transposeB, into: &c)
        #expect(c[flat: 0] == 4 && c[flat: 1] == 2)
    }

    @Test(arguments: [false, true], [(6, 5), (700, 900)])
    func gemvMatchesNaiveProduct(transpose: Bool, size: (Int, Int)) {
        let (m, n) = size
        let a = random(m * n, seed: 7), x = random(transpose ? m : n, seed: 8)
        var y = random(transpose ? n : m, seed: 9)
        let y0 = y
        y.withUnsafeMutableBufferPointer { yb in
            BLAS.gemv(
                transpose: transpose, m: m, n: n, alpha: 1.5, a: a, lda: n, x: x, beta: 0.5,
                y: yb.baseAddress!)
        }
        for i in 0..<y.count {
            var s = 0.0
            for p in 0..<x.count { s += Double(transpose ? a[p * n + i] : a[i * n + p]) * Double(x[p]) }
            let want = 1.5 * s + 0.5 * Double(y0[i])
            #expect(abs(Double(y[i]) - want) < 1e-4 * max(1, abs(want)))
        }
    }

    @Test func vectorExpMatchesFoundation() {
        var x: [Float] = stride(from: -90, through: 89, by: 0.37).map { Float($0) }
        x += [0, -0.5, 0.5, 1e-3]
        for i in stride(from: 0, to: x.count - 8, by: 8) {
            let v = x.withUnsafeBufferPointer { VectorMath.exp(VectorMath.load($0.baseAddress! + i)) }
            for l in 0..<8 {
                let want = Foundation.exp(Double(min(max(x[i + l], -87), 88)))
                #expect(abs(Double(v[l]) - want) <= 3e-7 * want, "exp(\(x[i + l])) = \(v[l]), want \(want)")
            }
        }
    }

    @Test func softmaxRowsSumToOneAndMatchReference() {
        var x = random(3 * 37, seed: 4, std: 3)
        let orig = x
        x.withUnsafeMutableBufferPointer {
            Kernels.softmax($0.baseAddress!, rows: 3, n: 37, stride: 37, scale: 0.5)
        }
        for r in 0..<3 {
            let row = orig[(r * 37)..<(r * 37 + 37)].map { Double($0) * 0.5 }
            let m = row.max()!
            let s = row.reduce(0) { $0 + exp($1 - m) }
            for j in 0..<37 {
                #expect(abs(Double(x[r * 37 + j]) - exp(row[j] - m) / s) < 1e-6)
            }
        }
    }

    @Test func ropeRotatesHalvesAndInverts() {
        let table = RotaryTable(headDimension: 4, maxPosition: 8, theta: 10_000)
        // Position 3, pair i=0 rotates by 3 rad, pair i=1 by 3·10000^(-1/2).
        var x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]  // one row, two heads of 4
        let orig = x
        let pos: [Int32] = [3]
        x.withUnsafeMutableBufferPointer { xb in
            pos.withUnsafeBufferPointer {
                Kernels.rope(
                    xb.baseAddress!, rows: 1, stride: 8, heads: 2, positions: $0.baseAddress!, table: table)
            }
        }
        let a0 = 3.0, a1 = 3.0 / 100
        #expect(abs(Double(x[0]) - (1 * cos(a0) - 3 * sin(a0))) < 1e-5)
        #expect(abs(Double(x[2]) - (3 * cos(a0) + 1 * sin(a0))) < 1e-5)
        #expect(abs(Double(x[1]) - (2 * cos(a1) - 4 * sin(a1))) < 1e-5)
        #expect(abs(Double(x[7]) - (8 * cos(a1) + 6 * sin(a1))) < 1e-5)
        x.withUnsafeMutableBufferPointer { xb in
            pos.withUnsafeBufferPointer {
                Kernels.rope(
                    xb.baseAddress!, rows: 1, stride: 8, heads: 2, positions: $0.baseAddress!, table: table,
                    inverse: true)
            }
        }
        for i in 0..<8 { #expect(abs(x[i] - orig[i]) < 1e-5) }
    }

    /// Attention forward against a direct Double implementation, with GQA, segments and a
    /// length that spans several query tiles.
    @Test func attentionMatchesReference() {
        let b = 2, t = 70, h = 4, kv = 2, d = 3
        let w = (h + 2 * kv) * d
        var qkv = random(b * t * w, seed: 5)
        var segs = [Int32](repeating: 0, count: b * t)
        for i in 0..<(b * t) { segs[i] = Int32(i / 25) }
        var out = [Float](repeating: 0, count: b * t * h * d)
        var probs = [Float](repeating: 0, count: b * h * t * t)
        let g = AttentionGeometry(batch: b, length: t, heads: h, kvHeads: kv, headDimension: d)
        qkv.withUnsafeMutableBufferPointer { qb in
            out.withUnsafeMutableBufferPointer { ob in
                probs.withUnsafeMutableBufferPointer { pb in
                    segs.withUnsafeBufferPointer { sb in
                        let q = qb.baseAddress!
                        Kernels.attentionForward(
                            q: HeadLayout(base: q, stride: w), k: HeadLayout(base: q + h * d, stride: w),
                            v: HeadLayout(base: q + (h + kv) * d, stride: w),
                            out: HeadLayout(base: ob.baseAddress!, stride: h * d),
                            probs: pb.baseAddress!, segments: sb.baseAddress!, geometry: g)
                    }
                }
            }
        }
        var worst = 0.0
        for bi in 0..<b {
            for hi in 0..<h {
                let kh = hi / (h / kv)
                for i in 0..<t {
                    let row = bi * t + i
                    var scores: [Double] = []
                    var keys: [Int] = []
                    for j in 0...i where segs[bi * t + j] == segs[row] {
                        var s = 0.0
                        for c in 0..<d {
                            s +=
                                Double(qkv[row * w + hi * d + c])
                                * Double(qkv[(bi * t + j) * w + (h + kh) * d + c])
                        }
                        scores.append(s / Double(d).squareRoot())
                        keys.append(j)
                    }
                    let m = scores.max()!
                    let z = scores.reduce(0) { $0 + exp($1 - m) }
                    for c in 0..<d {
                        var o = 0.0
                        for (s, j) in zip(scores, keys) {
                            o += exp(s - m) / z * Double(qkv[(bi * t + j) * w + (h + kv + kh) * d + c])
                        }
                        worst = max(worst, abs(o - Double(out[row * h * d + hi * d + c])))
                    }
                }
            }
        }
        #expect(worst < 1e-5)
    }

    @Test func parallelForCoversEveryIndexOnce() {
        var hits = [Int](repeating: 0, count: 1000)
        hits.withUnsafeMutableBufferPointer { hb in
            let p = hb.baseAddress!
            Parallel.forRanges(1000, costPerItem: 100_000) { r in for i in r { p[i] += 1 } }
        }
        #expect(hits.allSatisfy { $0 == 1 })
    }

    @Test func resizeReusesUniqueBuffers() {
        var t = Tensor(shape: [4, 6], repeating: 2)
        t.resize(to: [6, 4])
        #expect(t.shape == [6, 4] && t[flat: 0] == 2)  // same buffer kept
        let shared = t
        t.resize(to: [3, 8])
        #expect(shared.shape == [6, 4] && t.shape == [3, 8])
        t[flat: 0] = 5
        #expect(shared[flat: 0] == 2)
    }
}
