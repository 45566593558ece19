import Dispatch
import Foundation
import TensorCore

/// Fused element-wise update loops over unsafe buffers: one pass reads the gradient and
/// updates the moments and the weights together (no temporaries). Large tensors are split
/// across threads; each chunk touches a disjoint range, so results do not depend on the split.
enum OptimizerKernels {
    /// Below this many elements a tensor is updated on the calling thread.
    static let parallelThreshold = 1 << 16

    static func forChunks(_ count: Int, _ body: (Range<Int>) -> Void) {
        let threads = Parallel.threadCount
        guard count >= parallelThreshold, threads > 1 else {
            body(0..<count)
            return
        }
        let chunk = (count + threads - 1) / threads
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBody(body: body)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let lo = t * chunk, hi = min(count, lo + chunk)
                if lo < hi { box.body(lo..<hi) }
            }
        }
    }

    /// @unchecked: the chunks write disjoint index ranges of buffers that outlive the call
    /// (`concurrentPerform` returns only when every chunk is done).
    private struct UncheckedBody: @unchecked Sendable {
        let body: (Range<Int>) -> Void
    }

    /// Adam/AdamW on one tensor (PyTorch's formulation):
    ///   g ← g + l2·w;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
    ///   w ← w·(1 − lr·decoupled);  w ← w − (lr/bc1) · m / (√v/√bc2 + ε)
    static func adam(
        value: inout Tensor, grad: Tensor, m: inout Tensor, v: inout Tensor,
        learningRate lr: Float, beta1: Float, beta2: Float, epsilon: Float,
        biasCorrection1 bc1: Float, biasCorrection2 bc2: Float,
        l2: Float, decoupledDecay: Float
    ) {
        precondition(
            value.shape == grad.shape && value.shape == m.shape && value.shape == v.shape,
            "Adam: value \(value.shape), grad \(grad.shape), moments \(m.shape)/\(v.shape) differ")
        let stepSize = lr / bc1
        let invSqrtBC2 = 1 / bc2.squareRoot()
        let shrink = 1 - lr * decoupledDecay
        grad.withUnsafeBufferPointer { g in
            value.withUnsafeMutableBufferPointer { w in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        let (g, w, m, v) = (g.baseAddress!, w.baseAddress!, m.baseAddress!, v.baseAddress!)
                        forChunks(grad.count) { range in
                            // Explicit 8-wide vectors (the scalar loop is not auto-vectorised);
                            // the same IEEE operations in the same order as the scalar tail, so
                            // results do not depend on where a chunk starts.
                            typealias V = SIMD8<Float>
                            var i = range.lowerBound
                            while i + 8 <= range.upperBound {
                                let wi = V.load(w + i)
                                let gi = V.load(g + i) + l2 * wi
                                let mi = beta1 * V.load(m + i) + (1 - beta1) * gi
                                let vi = beta2 * V.load(v + i) + (1 - beta2) * gi * gi
                                mi.store(to: m + i)
                                vi.store(to: v + i)
                                (wi * shrink - stepSize * mi / (vi.squareRoot() * invSqrtBC2 + epsilon))
                                    .store(to: w + i)
                                i += 8
                            }
                            while i < range.upperBound {
                                let gi = g[i] + l2 * w[i]
                                let mi = beta1 * m[i] + (1 - beta1) * gi
                                let vi = beta2 * v[i] + (1 - beta2) * gi * gi
                                m[i] = mi
                                v[i] = vi
                                w[i] =
                                    w[i] * shrink - stepSize * mi / (vi.squareRoot() * invSqrtBC2 + epsilon)
                                i += 1
                            }
                        }
                    }
                }
            }
        }
    }

    /// SGD, optionally with (Nesterov) momentum, PyTorch's formulation:
    ///   g ← g + l2·w;  b ← μ·b + (1−dampening)·g (b ← g on the first step);
    ///   d ← nesterov ? g + μ·b : b;  w ← w − lr·d
    static func sgd(
        value: inout Tensor, grad: Tensor, buffer: inout Tensor?, learningRate lr: Float,
        momentum mu: Float, dampening: Float, nesterov: Bool, l2: Float, firstStep: Bool
    ) {
        precondition(value.shape == grad.shape, "SGD: value \(value.shape) and grad \(grad.shape) differ")
        grad.withUnsafeBufferPointer { g in
            value.withUnsafeMutableBufferPointer { w in
                let (g, w) = (g.baseAddress!, w.baseAddress!)
                guard buffer != nil else {
                    forChunks(grad.count) { range in
                        for i in range { w[i] -= lr * (g[i] + l2 * w[i]) }
                    }
                    return
                }
                buffer!.withUnsafeMutableBufferPointer { b in
                    let b = b.baseAddress!
                    let keep = firstStep ? 0 : mu
                    let add = firstStep ? 1 : 1 - dampening
                    forChunks(grad.count) { range in
                        for i in range {
                            let gi = g[i] + l2 * w[i]
                            let bi = keep * b[i] + add * gi
                            b[i] = bi
                            w[i] -= lr * (nesterov ? gi + mu * bi : bi)
                        }
                    }
                }
            }
        }
    }
}

extension SIMD8 where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }
    @inline(__always) func store(to p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
}
