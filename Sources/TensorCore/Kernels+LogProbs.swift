import Foundation

extension Kernels {
    /// Per row n of logits (N, V): logProb[n] = log softmax(logits[n] / τ)[target[n]] and
    /// entropy[n] = −Σ p log p of that distribution; `logNormalizers[n]`, when given, receives
    /// log Σ_j e^(logits[n, j] / τ), which lets the backward run in one pass.
    public static func tokenLogProbs(
        logits: UnsafePointer<Float>, rows: Int, vocab: Int,
        targets: UnsafePointer<Int32>, temperature: Float,
        logProbs: UnsafeMutablePointer<Float>, entropy: UnsafeMutablePointer<Float>,
        logNormalizers: UnsafeMutablePointer<Float>? = nil
    ) {
        let inv = 1 / temperature
        Parallel.forRanges(rows, costPerItem: vocab * 6) { range in
            for n in range {
                let row = logits + n * vocab
                let m = VectorMath.max(row, vocab) * inv
                // Σ e^(z−m) and Σ e^(z−m)·(z−m), in one pass.
                var s: Float = 0, sz: Float = 0
                // One chain: unrolling by two spilled the exponential's constants (16 AVX2 registers).
                var accS = SIMD8<Float>(), accZ = SIMD8<Float>()
                let vm = SIMD8<Float>(repeating: m)
                var j = 0
                while j + 8 <= vocab {
                    let z = VectorMath.load(row + j) * inv - vm
                    let e = VectorMath.exp(z)
                    accS += e
                    accZ = accZ.addingProduct(e, z)
                    j += 8
                }
                s = accS.sum()
                sz = accZ.sum()
                while j < vocab {
                    let z = row[j] * inv - m
                    let e = VectorMath.exp(z)
                    s += e
                    sz += e * z
                    j += 1
                }
                let logS = Foundation.log(s)
                let t = Int(targets[n])
                precondition(
                    t >= 0 && t < vocab, "tokenLogProbs: target \(t) outside the vocabulary 0..<\(vocab)")
                logProbs[n] = row[t] * inv - m - logS
                logNormalizers?[n] = m + logS
                // H = log S − Σ p·(z−m)
                entropy[n] = logS - sz / s
            }
        }
    }

    /// dLogits[n] = g[n] · (onehot(target) − softmax(logits[n]/τ)) / τ (overwrites). With the
    /// forward's `logNormalizers` the softmax is read off in one pass without a max or a sum, and
    /// `dLogits` may be `logits` itself (the gradient replaces the logits row by row).
    public static func tokenLogProbsBackward(
        logits: UnsafePointer<Float>, rows: Int, vocab: Int,
        targets: UnsafePointer<Int32>, temperature: Float,
        logProbGrad: UnsafePointer<Float>, dLogits: UnsafeMutablePointer<Float>,
        logNormalizers: UnsafePointer<Float>? = nil
    ) {
        let inv = 1 / temperature
        Parallel.forRanges(rows, costPerItem: vocab * 6) { range in
            for n in range {
                let row = logits + n * vocab, d = dLogits + n * vocab
                let g = logProbGrad[n]
                if g == 0 {
                    d.update(repeating: 0, count: vocab)
                    continue
                }
                if let logNormalizers {
                    // d = −g/τ · e^(z/τ − log Z)
                    let lz = SIMD8<Float>(repeating: logNormalizers[n]), c = SIMD8<Float>(repeating: -g * inv)
                    var j = 0
                    while j + 8 <= vocab {
                        VectorMath.store(c * VectorMath.exp(VectorMath.load(row + j) * inv - lz), d + j)
                        j += 8
                    }
                    while j < vocab {
                        d[j] = -g * inv * VectorMath.exp(row[j] * inv - logNormalizers[n])
                        j += 1
                    }
                } else {
                    let m = VectorMath.max(row, vocab) * inv
                    let s = VectorMath.expShifted(row, d, vocab, shift: m, scale: inv)
                    VectorMath.scale(d, vocab, by: -g * inv / s)
                }
                d[Int(targets[n])] += g * inv
            }
        }
    }
}
