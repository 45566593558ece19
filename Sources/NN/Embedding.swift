import TensorCore

/// Row lookup in a [count, size] table (token or learned position embeddings).
public final class Embedding {
    public let weight: Parameter
    public var count: Int { weight.shape[0] }
    public var size: Int { weight.shape[1] }

    public init(name: String, count: Int, size: Int, std: Float, rng: inout RandomGenerator) {
        weight = Parameter(
            name: name + ".weight",
            value: std == 0
                ? Tensor(shape: [count, size]) : .randomNormal(shape: [count, size], std: std, rng: &rng),
            decays: true)
    }

    public var parameters: [Parameter] { [weight] }

    /// y[n] (=|+=) table[ids[n]]; y: (N, size).
    public func forward(_ ids: [Int32], into y: inout Tensor, accumulate: Bool = false) {
        let c = size, v = count
        if accumulate {
            precondition(y.count == ids.count * c, "Embedding(\(weight.name)): accumulating into \(y.shape)")
        } else {
            y.resize(to: [ids.count, c])
        }
        if weight.holdsBF16Only {
            let bits = weight.bf16Value
            y.withUnsafeMutableBufferPointer { out in
                for (n, id) in ids.enumerated() {
                    precondition(
                        id >= 0 && Int(id) < v, "Embedding(\(weight.name)): id \(id) outside 0..<\(v)")
                    let src = bits + Int(id) * c, dst = out.baseAddress! + n * c
                    for i in 0..<c { dst[i] = (accumulate ? dst[i] : 0) + BF16Matmul.float(src[i]) }
                }
            }
            return
        }
        weight.value.withUnsafeBufferPointer { w in
            y.withUnsafeMutableBufferPointer { out in
                ids.withUnsafeBufferPointer { idp in
                    let wp = w.baseAddress!, yp = out.baseAddress!, ip = idp.baseAddress!
                    Parallel.forRanges(ids.count, costPerItem: c) { range in
                        for n in range {
                            let id = Int(ip[n])
                            precondition(
                                id >= 0 && id < v, "Embedding(\(weight.name)): id \(id) outside 0..<\(v)")
                            let src = wp + id * c, dst = yp + n * c
                            if accumulate {
                                for i in 0..<c { dst[i] += src[i] }
                            } else {
                                dst.update(from: src, count: c)
                            }
                        }
                    }
                }
            }
        }
    }

    /// grad[ids[n]] += dy[n]. Serial: ids repeat, and the scatter is cheap next to the products.
    public func backward(_ ids: [Int32], outputGrad dy: Tensor) {
        let c = size
        precondition(dy.count == ids.count * c, "Embedding(\(weight.name)).backward: grad \(dy.shape)")
        guard weight.requiresGradient else { return }  // frozen (LoRA): nothing flows past the lookup
        dy.withUnsafeBufferPointer { d in
            weight.grad.withUnsafeMutableBufferPointer { g in
                for (n, id) in ids.enumerated() {
                    let src = d.baseAddress! + n * c, dst = g.baseAddress! + Int(id) * c
                    for i in 0..<c { dst[i] += src[i] }
                }
            }
        }
    }
}
