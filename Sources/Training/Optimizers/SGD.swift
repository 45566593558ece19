import NN
import TensorCore

/// Stochastic gradient descent, optionally with momentum (heavy-ball or Nesterov) and L2 weight
/// decay (added to the gradient, skipped for parameters with `decays == false`).
public struct SGD: Optimizer {
    public var momentum: Float
    public var nesterov: Bool
    public var dampening: Float
    public var weightDecay: Float
    public var stepCount = 0
    var buffers: MomentTable

    public init(momentum: Float = 0, nesterov: Bool = false, dampening: Float = 0, weightDecay: Float = 0) {
        precondition(momentum >= 0, "SGD: momentum must be non-negative, got \(momentum)")
        precondition(
            !nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov needs momentum > 0 and no dampening"
        )
        self.momentum = momentum
        self.nesterov = nesterov
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.buffers = MomentTable(suffixes: momentum > 0 ? ["momentum_buffer"] : [])
    }

    public var kind: String { momentum > 0 ? (nesterov ? "sgd_nesterov" : "sgd_momentum") : "sgd" }

    public mutating func update(_ parameter: Parameter, at index: Int, learningRate: Float) {
        let l2 = parameter.decays ? weightDecay : 0
        var buffer: Tensor? = nil
        if momentum > 0 {
            buffers.prepare(index: index, shape: parameter.shape)
            buffer = buffers.take(0, index)
        }
        OptimizerKernels.sgd(
            value: &parameter.value, grad: parameter.grad, buffer: &buffer, learningRate: learningRate,
            momentum: momentum, dampening: dampening, nesterov: nesterov, l2: l2,
            firstStep: stepCount == 1)
        if let buffer { buffers.put(buffer, 0, index) }
    }

    public func stateTensors(for parameters: [Parameter]) -> [(name: String, tensor: Tensor)] {
        buffers.tensors(for: parameters)
    }

    public func expectedStateTensors(for parameters: [Parameter]) -> [(name: String, shape: [Int])] {
        buffers.expected(for: parameters)
    }

    public mutating func restoreState(_ tensors: [Tensor], stepCount: Int, parameters: [Parameter]) {
        buffers.restore(tensors, parameterCount: parameters.count)
        self.stepCount = stepCount
    }
}
