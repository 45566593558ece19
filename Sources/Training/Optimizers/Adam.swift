import Foundation
import NN
import TensorCore

/// Adam (Kingma & Ba) with bias correction, and AdamW (Loshchilov & Hutter) as the same
/// optimizer with decoupled weight decay. Decay is skipped where `decays == false` (norm gains,
/// biases).
public struct Adam: Optimizer {
    /// How `weightDecay` λ acts.
    public enum WeightDecay: Sendable {
        /// Classic L2 regularisation: λ·w added to the gradient (as `torch.optim.Adam` does).
        case l2
        /// Decoupled: `w ← w·(1 − lr·λ)` beside the Adam step (AdamW, `torch.optim.AdamW`).
        case decoupled
    }

    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public var decay: WeightDecay
    public var stepCount = 0
    var moments = MomentTable(suffixes: ["exp_avg", "exp_avg_sq"])

    public init(
        beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0,
        decay: WeightDecay = .l2
    ) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decay = decay
    }

    /// AdamW: Adam with decoupled weight decay (PyTorch's default λ = 0.01).
    public static func adamW(
        weightDecay: Float = 0.01, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8
    ) -> Adam {
        Adam(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decay: .decoupled)
    }

    public var kind: String { decay == .decoupled ? "adamw" : "adam" }

    public mutating func update(_ parameter: Parameter, at index: Int, learningRate: Float) {
        let lambda = parameter.decays ? weightDecay : 0
        moments.adamUpdate(
            parameter, index: index, step: stepCount, learningRate: learningRate,
            beta1: beta1, beta2: beta2, epsilon: epsilon,
            l2: decay == .l2 ? lambda : 0, decoupledDecay: decay == .decoupled ? lambda : 0)
    }

    public func stateTensors(for parameters: [Parameter]) -> [(name: String, tensor: Tensor)] {
        moments.tensors(for: parameters)
    }
    public func expectedStateTensors(for parameters: [Parameter]) -> [(name: String, shape: [Int])] {
        moments.expected(for: parameters)
    }
    public mutating func restoreState(_ tensors: [Tensor], stepCount: Int, parameters: [Parameter]) {
        moments.restore(tensors, parameterCount: parameters.count)
        self.stepCount = stepCount
    }
}

extension MomentTable {
    mutating func adamUpdate(
        _ parameter: Parameter, index: Int, step: Int, learningRate: Float,
        beta1: Float, beta2: Float, epsilon: Float, l2: Float, decoupledDecay: Float
    ) {
        precondition(step >= 1, "Adam: update called before step() advanced the step count")
        prepare(index: index, shape: parameter.shape)
        var m = take(0, index), v = take(1, index)
        // Bias corrections in Double: β^t for large t underflows gracefully either way, but
        // 1 − β2^t at small t loses digits in Float.
        let bc1 = Float(1 - pow(Double(beta1), Double(step)))
        let bc2 = Float(1 - pow(Double(beta2), Double(step)))
        OptimizerKernels.adam(
            value: &parameter.value, grad: parameter.grad, m: &m, v: &v,
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
            biasCorrection1: bc1, biasCorrection2: bc2, l2: l2, decoupledDecay: decoupledDecay)
        put(m, 0, index)
        put(v, 1, index)
    }
}
