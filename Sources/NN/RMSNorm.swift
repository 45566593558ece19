import TensorCore

/// y = x / √(mean(x²) + ε) · w (Llama). Parameter `name.weight`, initialised to 1.
public final class RMSNorm: Normalization {
    public let weight: Parameter
    public let epsilon: Float
    public var size: Int { weight.shape[0] }
    var rstd = Tensor(shape: [0])  // (N)

    public init(name: String, size: Int, epsilon: Float) {
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [size], repeating: 1), decays: false)
        self.epsilon = epsilon
    }

    public var parameters: [Parameter] { [weight] }

    public func forward(_ x: Tensor, into y: inout Tensor) {
        let c = size
        precondition(x.shape.last == c, "RMSNorm(\(weight.name)): input \(x.shape), expected (N, \(c))")
        let rows = x.count / c
        y.resize(to: x.shape)
        rstd.resize(to: [rows])
        x.withUnsafeBufferPointer { xp in
            weight.value.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    rstd.withUnsafeMutableBufferPointer { rp in
                        Kernels.rmsNormForward(
                            x: xp.baseAddress!, weight: wp.baseAddress!, y: yp.baseAddress!,
                            rstd: rp.baseAddress!, rows: rows, channels: c, epsilon: epsilon)
                    }
                }
            }
        }
    }

    public func backward(input x: Tensor, outputGrad dy: Tensor, inputGrad dx: inout Tensor) {
        let c = size, rows = x.count / c
        precondition(
            dy.count == x.count && dx.count == x.count && rstd.count == rows,
            "RMSNorm(\(weight.name)).backward: shapes \(x.shape), \(dy.shape), \(dx.shape)")
        x.withUnsafeBufferPointer { xp in
            weight.value.withUnsafeBufferPointer { wp in
                rstd.withUnsafeBufferPointer { rp in
                    dy.withUnsafeBufferPointer { dyp in
                        dx.withUnsafeMutableBufferPointer { dxp in
                            weight.withGradientBuffer { gp in
                                Kernels.rmsNormBackward(
                                    x: xp.baseAddress!, weight: wp.baseAddress!, rstd: rp.baseAddress!,
                                    dy: dyp.baseAddress!, dx: dxp.baseAddress!,
                                    dWeight: gp.baseAddress!, rows: rows, channels: c)
                            }
                        }
                    }
                }
            }
        }
    }
}
