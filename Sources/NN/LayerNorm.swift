import TensorCore

/// y = (x − mean) / √(var + ε) · w + b (GPT-2). Parameters `name.weight` (1) and `name.bias` (0).
public final class LayerNorm: Normalization {
    public let weight: Parameter
    public let bias: Parameter
    public let epsilon: Float
    public var size: Int { weight.shape[0] }
    var mean = Tensor(shape: [0])  // (N)
    var rstd = Tensor(shape: [0])  // (N)

    public init(name: String, size: Int, epsilon: Float) {
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [size], repeating: 1), decays: false)
        bias = Parameter(name: name + ".bias", value: Tensor(shape: [size]), decays: false)
        self.epsilon = epsilon
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func forward(_ x: Tensor, into y: inout Tensor) {
        let c = size
        precondition(x.shape.last == c, "LayerNorm(\(weight.name)): input \(x.shape), expected (N, \(c))")
        let rows = x.count / c
        y.resize(to: x.shape)
        mean.resize(to: [rows])
        rstd.resize(to: [rows])
        x.withUnsafeBufferPointer { xp in
            weight.value.withUnsafeBufferPointer { wp in
                bias.value.withUnsafeBufferPointer { bp in
                    y.withUnsafeMutableBufferPointer { yp in
                        mean.withUnsafeMutableBufferPointer { mp in
                            rstd.withUnsafeMutableBufferPointer { rp in
                                Kernels.layerNormForward(
                                    x: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                    y: yp.baseAddress!, mean: mp.baseAddress!, rstd: rp.baseAddress!,
                                    rows: rows, channels: c, epsilon: epsilon)
                            }
                        }
                    }
                }
            }
        }
    }

    public func backward(input x: Tensor, outputGrad dy: Tensor, inputGrad dx: inout Tensor) {
        let c = size, rows = x.count / c
        precondition(
            dy.count == x.count && dx.count == x.count && rstd.count == rows,
            "LayerNorm(\(weight.name)).backward: shapes \(x.shape), \(dy.shape), \(dx.shape)")
        x.withUnsafeBufferPointer { xp in
            weight.value.withUnsafeBufferPointer { wp in
                mean.withUnsafeBufferPointer { mp in
                    rstd.withUnsafeBufferPointer { rp in
                        dy.withUnsafeBufferPointer { dyp in
                            dx.withUnsafeMutableBufferPointer { dxp in
                                weight.withGradientBuffer { gw in
                                    bias.withGradientBuffer { gb in
                                        Kernels.layerNormBackward(
                                            x: xp.baseAddress!, weight: wp.baseAddress!,
                                            mean: mp.baseAddress!,
                                            rstd: rp.baseAddress!, dy: dyp.baseAddress!, dx: dxp.baseAddress!,
                                            dWeight: gw.baseAddress!, dBias: gb.baseAddress!, rows: rows,
                                            channels: c)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
