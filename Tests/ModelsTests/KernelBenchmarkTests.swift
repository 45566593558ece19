import Foundation
import NN
import Testing
import TensorCore

/// Where a training step's time goes, kernel by kernel, at config S's shapes (B16 × T256,
/// width 256, 4 heads, vocab 4096): best of 5 runs of each kernel on one thread, in thread CPU
/// time (steady on a shared machine), and two sgemms for scale. Off by default
/// (`scripts/bench-train`).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RLHF_BENCH"] != nil), .serialized)
struct KernelBenchmarkTests {
    static let (batch, length, width, heads, vocab) = (16, 256, 256, 4, 4096)

    static func best(_ body: () -> Void) -> Double {
        func cpu() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
        }
        body()
        var best = Double.infinity
        for _ in 0..<5 {
            let start = cpu()
            body()
            best = min(best, cpu() - start)
        }
        return best
    }

    static func report(_ name: String, _ ms: Double, flops: Double? = nil) {
        if let flops {
            print(String(format: "bench kernel %@: %.2f ms (%.0f GFLOP/s)", name, ms, flops / ms / 1e6))
        } else {
            print(String(format: "bench kernel %@: %.2f ms", name, ms))
        }
    }

    @Test func kernelTimes() {
        let (B, T, C, H, V) = (Self.batch, Self.length, Self.width, Self.heads, Self.vocab)
        let N = B * T, D = C / H
        let threads = Parallel.threadCount
        Parallel.threadCount = 1
        defer { Parallel.threadCount = threads }
        var rng = RandomGenerator(seed: 1)
        var qkv = Tensor.randomNormal(shape: [N, 3 * C], std: 1, rng: &rng)
        var out = Tensor(shape: [N, C]), dOut = Tensor.randomNormal(shape: [N, C], std: 1, rng: &rng)
        var dqkv = Tensor(shape: [N, 3 * C])
        let g = AttentionGeometry(batch: B, length: T, heads: H, kvHeads: H, headDimension: D)
        var probs = Tensor(shape: [g.probabilityCount])
        // Causal attention does half of the full T×T products: 2 matmuls forward, 4 backward.
        let attentionFlops = Double(B * H) * Double(T * T) * Double(D) * 2 / 2
        qkv.withUnsafeMutableBufferPointer { q in
            out.withUnsafeMutableBufferPointer { o in
                probs.withUnsafeMutableBufferPointer { p in
                    dOut.withUnsafeMutableBufferPointer { d in
                        dqkv.withUnsafeMutableBufferPointer { dq in
                            let qp = q.baseAddress!, dp = dq.baseAddress!
                            let lq = HeadLayout(base: qp, stride: 3 * C),
                                lk = HeadLayout(base: qp + C, stride: 3 * C)
                            let lv = HeadLayout(base: qp + 2 * C, stride: 3 * C)
                            let forward = Self.best {
                                Kernels.attentionForward(
                                    q: lq, k: lk, v: lv, out: HeadLayout(base: o.baseAddress!, stride: C),
                                    probs: p.baseAddress!, segments: nil, geometry: g)
                            }
                            Self.report("attention forward", forward, flops: 2 * attentionFlops)
                            let backward = Self.best {
                                Kernels.attentionBackward(
                                    q: lq, k: lk, v: lv, probs: p.baseAddress!,
                                    dOut: HeadLayout(base: d.baseAddress!, stride: C),
                                    dq: HeadLayout(base: dp, stride: 3 * C),
                                    dk: HeadLayout(base: dp + C, stride: 3 * C),
                                    dv: HeadLayout(base: dp + 2 * C, stride: 3 * C), geometry: g)
                            }
                            Self.report("attention backward", backward, flops: 4 * attentionFlops)
                        }
                    }
                }
            }
        }

        let hidden = Tensor.randomNormal(shape: [N, 4 * C], std: 1, rng: &rng)
        var act = Tensor(shape: [N, 4 * C]), dAct = Tensor(shape: [N, 4 * C])
        hidden.withUnsafeBufferPointer { h in
            act.withUnsafeMutableBufferPointer { a in
                Self.report(
                    "gelu forward (N×4C)",
                    Self.best { Kernels.geluForward(h.baseAddress!, a.baseAddress!, count: N * 4 * C) })
                dAct.withUnsafeMutableBufferPointer { da in
                    Self.report(
                        "gelu backward (N×4C)",
                        Self.best {
                            Kernels.geluBackward(
                                h.baseAddress!, a.baseAddress!, da.baseAddress!, count: N * 4 * C,
                                accumulate: false)
                        })
                }
            }
        }

        let x = Tensor.randomNormal(shape: [N, C], std: 1, rng: &rng)
        let w = Tensor(shape: [C], repeating: 1), bias = Tensor(shape: [C])
        var y = Tensor(shape: [N, C]), dx = Tensor(shape: [N, C]), dw = Tensor(shape: [C]),
            db = Tensor(shape: [C])
        var mean = Tensor(shape: [N]), rstd = Tensor(shape: [N])
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                bias.withUnsafeBufferPointer { bp in
                    y.withUnsafeMutableBufferPointer { yp in
                        mean.withUnsafeMutableBufferPointer { mp in
                            rstd.withUnsafeMutableBufferPointer { rp in
                                Self.report(
                                    "layernorm forward (N×C)",
                                    Self.best {
                                        Kernels.layerNormForward(
                                            x: xp.baseAddress!, weight: wp.baseAddress!,
                                            bias: bp.baseAddress!,
                                            y: yp.baseAddress!, mean: mp.baseAddress!, rstd: rp.baseAddress!,
                                            rows: N, channels: C, epsilon: 1e-5)
                                    })
                                dx.withUnsafeMutableBufferPointer { dxp in
                                    dw.withUnsafeMutableBufferPointer { dwp in
                                        db.withUnsafeMutableBufferPointer { dbp in
                                            Self.report(
                                                "layernorm backward (N×C)",
                                                Self.best {
                                                    Kernels.layerNormBackward(
                                                        x: xp.baseAddress!, weight: wp.baseAddress!,
                                                        mean: mp.baseAddress!, rstd: rp.baseAddress!,
                                                        dy: xp.baseAddress!, dx: dxp.baseAddress!,
                                                        dWeight: dwp.baseAddress!, dBias: dbp.baseAddress!,
                                                        rows: N, channels: C)
                                                })
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        let logits = Tensor.randomNormal(shape: [N, V], std: 1, rng: &rng)
        let targets = (0..<N).map { Int32($0 % V) }
        let grads = [Float](repeating: -1 / Float(N), count: N)
        var dLogits = Tensor(shape: [N, V])
        Self.report(
            "log-probs forward (N×V)",
            Self.best { _ = TokenLogProbs.forward(logits: logits, targets: targets, temperature: 1) })
        Self.report(
            "log-probs backward (N×V)",
            Self.best {
                TokenLogProbs.backward(
                    logits: logits, targets: targets, temperature: 1, logProbGrad: grads, into: &dLogits)
            })

        let a = Tensor.randomNormal(shape: [N, C], std: 1, rng: &rng),
            b = Tensor.randomNormal(shape: [C, 4 * C], std: 1, rng: &rng)
        var c = Tensor(shape: [0]), cw = Tensor(shape: [0])
        Self.report(
            "sgemm N×C · C×4C", Self.best { Tensor.matmul(a, b, into: &c) },
            flops: 2.0 * Double(N * C * 4 * C))
        Self.report(
            "sgemm (N×C)ᵀ · N×4C", Self.best { Tensor.matmul(a, c, transposeA: true, into: &cw) },
            flops: 2.0 * Double(N * C * 4 * C))
        // Decoding shapes (config M, 8 rows): Conv1D layout (B is in × out) and the tied LM head (Bᵀ).
        let rows8 = Tensor.randomNormal(shape: [8, 384], std: 1, rng: &rng)
        let conv = Tensor.randomNormal(shape: [384, 1536], std: 1, rng: &rng)
        let head = Tensor.randomNormal(shape: [8192, 384], std: 1, rng: &rng)
        var small = Tensor(shape: [0])
        Self.report(
            "decode 8×384 · 384×1536",
            Self.best { for _ in 0..<10 { Tensor.matmul(rows8, conv, into: &small) } } / 10,
            flops: 2.0 * 8 * 384 * 1536)
        Self.report(
            "decode 8×384 · (8192×384)ᵀ",
            Self.best { for _ in 0..<10 { Tensor.matmul(rows8, head, transposeB: true, into: &small) } } / 10,
            flops: 2.0 * 8 * 384 * 8192)
        #expect(c.count == N * 4 * C)
    }
}
