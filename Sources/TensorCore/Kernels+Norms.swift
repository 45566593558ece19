import Foundation

extension Kernels {
    // MARK: RMSNorm — y = x / sqrt(mean(x²) + eps) · w

    /// x, y: (rows, C) contiguous; rstd: (rows) saved for backward.
    public static func rmsNormForward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        rows: Int, channels c: Int, epsilon: Float
    ) {
        Parallel.forRanges(rows, costPerItem: c * 3) { range in
            for r in range {
                let xr = x + r * c, yr = y + r * c
                let ms = VectorMath.dot(xr, xr, c) / Float(c)
                let s = 1 / (ms + epsilon).squareRoot()
                rstd[r] = s
                for i in 0..<c { yr[i] = xr[i] * s * weight[i] }
            }
        }
    }

    /// dx += ∂L/∂x, dWeight += ∂L/∂w, given dy (rows, C).
    public static func rmsNormBackward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rstd: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
        rows: Int, channels c: Int
    ) {
        let partial = columnPartials(rows: rows, columns: c, copies: 1, cost: c * 6) { range, acc in
            for r in range {
                let xr = x + r * c, dyr = dy + r * c, dxr = dx + r * c
                let s = rstd[r]
                // mean over i of (dy·w)_i · xhat_i
                let m = VectorMath.dot3(dyr, weight, xr, c) * s / Float(c)
                let vs = SIMD8<Float>(repeating: s), vm = SIMD8<Float>(repeating: m)
                var i = 0
                while i + 8 <= c {
                    let xhat = VectorMath.load(xr + i) * vs, dyv = VectorMath.load(dyr + i)
                    VectorMath.store(VectorMath.load(acc + i).addingProduct(dyv, xhat), acc + i)
                    let g = dyv * VectorMath.load(weight + i) - xhat * vm
                    VectorMath.store(VectorMath.load(dxr + i).addingProduct(vs, g), dxr + i)
                    i += 8
                }
                while i < c {
                    let xhat = xr[i] * s
                    acc[i] += dyr[i] * xhat
                    dxr[i] += s * (dyr[i] * weight[i] - xhat * m)
                    i += 1
                }
            }
        }
        for i in 0..<c { dWeight[i] += partial[i] }
    }

    // MARK: LayerNorm — y = (x - mean) / sqrt(var + eps) · w + b

    public static func layerNormForward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
        rstd: UnsafeMutablePointer<Float>, rows: Int, channels c: Int, epsilon: Float
    ) {
        Parallel.forRanges(rows, costPerItem: c * 4) { range in
            for r in range {
                let xr = x + r * c, yr = y + r * c
                let mu = VectorMath.sum(xr, c) / Float(c)
                let v = VectorMath.squaredDeviation(xr, c, from: mu)
                let s = 1 / (v / Float(c) + epsilon).squareRoot()
                mean[r] = mu
                rstd[r] = s
                for i in 0..<c { yr[i] = (xr[i] - mu) * s * weight[i] + bias[i] }
            }
        }
    }

    /// dx += ∂L/∂x, dWeight += ∂L/∂w, dBias += ∂L/∂b.
    public static func layerNormBackward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
        rows: Int, channels c: Int
    ) {
        let partial = columnPartials(rows: rows, columns: c, copies: 2, cost: c * 8) { range, acc in
            for r in range {
                let xr = x + r * c, dyr = dy + r * c, dxr = dx + r * c
                let mu = mean[r], s = rstd[r]
                let vmu = SIMD8<Float>(repeating: mu), vs = SIMD8<Float>(repeating: s)
                var accG = SIMD8<Float>(), accGX = SIMD8<Float>()
                var i = 0
                while i + 8 <= c {
                    let g = VectorMath.load(dyr + i) * VectorMath.load(weight + i)
                    accG += g
                    accGX = accGX.addingProduct(g, (VectorMath.load(xr + i) - vmu) * vs)
                    i += 8
                }
                var sumG = accG.sum(), sumGX = accGX.sum()
                while i < c {
                    let g = dyr[i] * weight[i]
                    sumG += g
                    sumGX += g * (xr[i] - mu) * s
                    i += 1
                }
                let mg = sumG / Float(c), mgx = sumGX / Float(c)
                let vmg = SIMD8<Float>(repeating: mg), vmgx = SIMD8<Float>(repeating: mgx)
                i = 0
                while i + 8 <= c {
                    let xhat = (VectorMath.load(xr + i) - vmu) * vs, dyv = VectorMath.load(dyr + i)
                    VectorMath.store(VectorMath.load(acc + i).addingProduct(dyv, xhat), acc + i)
                    VectorMath.store(VectorMath.load(acc + c + i) + dyv, acc + c + i)
                    let g = dyv * VectorMath.load(weight + i) - vmg - xhat * vmgx
                    VectorMath.store(VectorMath.load(dxr + i).addingProduct(vs, g), dxr + i)
                    i += 8
                }
                while i < c {
                    let xhat = (xr[i] - mu) * s
                    acc[i] += dyr[i] * xhat
                    acc[c + i] += dyr[i]
                    dxr[i] += s * (dyr[i] * weight[i] - mg - xhat * mgx)
                    i += 1
                }
            }
        }
        for i in 0..<c {
            dWeight[i] += partial[i]
            dBias[i] += partial[c + i]
        }
    }

    /// Runs `body` over row ranges in parallel, each with its own zeroed accumulator of
    /// `copies · columns` floats, and returns the accumulators summed (in a fixed order).
    static func columnPartials(
        rows: Int, columns: Int, copies: Int, cost: Int,
        _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void
    ) -> [Float] {
        let width = columns * copies
        let workers = max(1, min(Parallel.threadCount, rows))
        var partials = [Float](repeating: 0, count: width * workers)
        partials.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            Parallel.forEach(workers, costPerItem: (rows / workers) * cost) { w in
                let lo = rows * w / workers, hi = rows * (w + 1) / workers
                body(lo..<hi, base + w * width)
            }
        }
        var total = [Float](repeating: 0, count: width)
        for w in 0..<workers { for i in 0..<width { total[i] += partials[w * width + i] } }
        return total
    }
}
