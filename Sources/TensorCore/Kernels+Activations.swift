import Foundation

extension Kernels {
    // GELU, tanh approximation (Hugging Face "gelu_new"):
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    @usableFromInline static let geluC: Float = 0.797_884_56  // √(2/π)

    /// y = gelu(x) elementwise over `count` scalars.
    public static func geluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forRanges((count + 255) / 256, costPerItem: 256 * 20) { blocks in
            let lo = blocks.lowerBound * 256, hi = min(count, blocks.upperBound * 256)
            var i = lo
            while i + 8 <= hi {
                let v = VectorMath.load(x + i)
                let u = geluC * (v + 0.044715 * v * v * v)
                // tanh(u) = 1 - 2 / (e^(2u) + 1)
                let t = 1 - 2 / (VectorMath.exp(2 * u) + 1)
                VectorMath.store(0.5 * v * (1 + t), y + i)
                i += 8
            }
            while i < hi {
                let v = x[i]
                let t = Foundation.tanh(geluC * (v + 0.044715 * v * v * v))
                y[i] = 0.5 * v * (1 + t)
                i += 1
            }
        }
    }

    /// dx (+)= dy · gelu'(x).
    public static func geluBackward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool
    ) {
        Parallel.forRanges((count + 255) / 256, costPerItem: 256 * 24) { blocks in
            let lo = blocks.lowerBound * 256, hi = min(count, blocks.upperBound * 256)
            var i = lo
            while i + 8 <= hi {
                let v = VectorMath.load(x + i)
                let u = geluC * (v + 0.044715 * v * v * v)
                let t = 1 - 2 / (VectorMath.exp(2 * u) + 1)
                let du = geluC * (1 + 3 * 0.044715 * v * v)
                let g = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du
                var d = g * VectorMath.load(dy + i)
                if accumulate { d += VectorMath.load(dx + i) }
                VectorMath.store(d, dx + i)
                i += 8
            }
            while i < hi {
                let v = x[i]
                let t = Foundation.tanh(geluC * (v + 0.044715 * v * v * v))
                let du = geluC * (1 + 3 * 0.044715 * v * v)
                let g = (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du) * dy[i]
                dx[i] = accumulate ? dx[i] + g : g
                i += 1
            }
        }
    }

    // SwiGLU: h = silu(gate) · up, silu(g) = g · σ(g). `gateUp` rows hold [gate | up] (2·I wide).

    /// gateUp: (rows, 2I); h: (rows, I).
    public static func swigluForward(
        gateUp: UnsafePointer<Float>, _ h: UnsafeMutablePointer<Float>,
        rows: Int, width: Int
    ) {
        Parallel.forRanges(rows, costPerItem: width * 12) { range in
            for r in range {
                let g = gateUp + r * 2 * width, u = g + width, hr = h + r * width
                var i = 0
                while i + 8 <= width {
                    let gv = VectorMath.load(g + i)
                    let s = 1 / (1 + VectorMath.exp(-gv))
                    VectorMath.store(gv * s * VectorMath.load(u + i), hr + i)
                    i += 8
                }
                while i < width {
                    let s = 1 / (1 + VectorMath.exp(-g[i]))
                    hr[i] = g[i] * s * u[i]
                    i += 1
                }
            }
        }
    }

    /// dGateUp (rows, 2I) = ∂L/∂[gate | up] given dh (rows, I) (overwrites).
    public static func swigluBackward(
        gateUp: UnsafePointer<Float>, dh: UnsafePointer<Float>,
        dGateUp: UnsafeMutablePointer<Float>, rows: Int, width: Int
    ) {
        Parallel.forRanges(rows, costPerItem: width * 16) { range in
            for r in range {
                let g = gateUp + r * 2 * width, u = g + width, dhr = dh + r * width
                let dg = dGateUp + r * 2 * width, du = dg + width
                var i = 0
                while i + 8 <= width {
                    let gv = VectorMath.load(g + i), uv = VectorMath.load(u + i), d = VectorMath.load(dhr + i)
                    let s = 1 / (1 + VectorMath.exp(-gv))
                    let silu = gv * s
                    VectorMath.store(d * uv * s * (1 + gv * (1 - s)), dg + i)
                    VectorMath.store(d * silu, du + i)
                    i += 8
                }
                while i < width {
                    let s = 1 / (1 + VectorMath.exp(-g[i]))
                    dg[i] = dhr[i] * u[i] * s * (1 + g[i] * (1 - s))
                    du[i] = dhr[i] * g[i] * s
                    i += 1
                }
            }
        }
    }

    // MARK: small elementwise helpers

    /// Adds `bias` (n) to every one of `rows` rows (stride `stride`).
    public static func addBias(
        _ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, stride: Int,
        bias: UnsafePointer<Float>
    ) {
        Parallel.forRanges(rows, costPerItem: n) { range in
            for r in range {
                let xr = x + r * stride
                for i in 0..<n { xr[i] += bias[i] }
            }
        }
    }

    /// dBias[i] += Σ_rows dy[r, i].
    public static func biasGradient(
        _ dy: UnsafePointer<Float>, rows: Int, n: Int, stride: Int,
        dBias: UnsafeMutablePointer<Float>
    ) {
        let partial = columnPartials(rows: rows, columns: n, copies: 1, cost: n) { range, acc in
            for r in range {
                let dr = dy + r * stride
                for i in 0..<n { acc[i] += dr[i] }
            }
        }
        for i in 0..<n { dBias[i] += partial[i] }
    }

    /// z = x + y over `count` scalars (z may alias x or y).
    public static func add(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        Parallel.forRanges((count + 1023) / 1024, costPerItem: 1024) { blocks in
            let lo = blocks.lowerBound * 1024, hi = min(count, blocks.upperBound * 1024)
            for i in lo..<hi { z[i] = x[i] + y[i] }
        }
    }
}
