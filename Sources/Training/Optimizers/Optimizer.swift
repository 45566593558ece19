import NN
import TensorCore

/// A first-order optimizer: one update per parameter, moments kept per parameter in parameter
/// order (index `i` of the moments belongs to `parameters[i]`, as llm.c lays them out).
///
/// `step` advances the step counter once (bias correction uses it) and then calls
/// `update(_:at:learningRate:)` for every parameter; an implementation only writes the
/// per-parameter rule. Gradients are read, not cleared: the loop zeroes them.
public protocol Optimizer: Sendable {
    /// Optimizer steps taken so far (1 after the first `step`).
    var stepCount: Int { get set }

    /// Applies one step to every parameter, reading `parameter.grad`.
    mutating func step(_ parameters: [Parameter], learningRate: Float)

    /// The rule for one parameter; `index` is its position in the parameter list and selects
    /// its moments. Called by `step` after `stepCount` has been incremented.
    mutating func update(_ parameter: Parameter, at index: Int, learningRate: Float)

    /// Moment tensors named `<parameter name>.<moment>` (`exp_avg`, `exp_avg_sq`,
    /// `momentum_buffer`, as PyTorch names them) for `optimizer.safetensors`.
    func stateTensors(for parameters: [Parameter]) -> [(name: String, tensor: Tensor)]

    /// Names and shapes `stateTensors` produces; loading validates a file against these.
    func expectedStateTensors(for parameters: [Parameter]) -> [(name: String, shape: [Int])]

    /// Replaces the moments with loaded ones (already validated, in `expectedStateTensors` order).
    mutating func restoreState(_ tensors: [Tensor], stepCount: Int, parameters: [Parameter])

    /// Short identifier written into checkpoints (`"adamw"`, `"sgd"`, …).
    var kind: String { get }
}

extension Optimizer {
    public mutating func step(_ parameters: [Parameter], learningRate: Float) {
        stepCount += 1
        for (index, parameter) in parameters.enumerated() {
            update(parameter, at: index, learningRate: learningRate)
        }
    }
}

/// Per-parameter moment storage shared by the optimizers: one tensor list per moment kind,
/// created lazily (zeros, which equals PyTorch's initial state) with the parameter's shape.
struct MomentTable: Sendable, Equatable {
    let suffixes: [String]
    private(set) var moments: [[Tensor]]

    init(suffixes: [String]) {
        self.suffixes = suffixes
        self.moments = suffixes.map { _ in [] }
    }

    /// Makes sure every moment exists for parameters `0...index`, shaped like `shape`.
    mutating func prepare(index: Int, shape: [Int]) {
        for k in moments.indices {
            while moments[k].count <= index { moments[k].append(Tensor(shape: [0])) }
            if moments[k][index].shape != shape {
                precondition(
                    moments[k][index].count == 0,
                    "Optimizer: parameter \(index) changed shape from \(moments[k][index].shape) to \(shape)")
                moments[k][index] = Tensor(shape: shape)
            }
        }
    }

    /// Takes moment `kind` of parameter `index` out of the table (so it can be mutated in
    /// place without a copy-on-write copy); put it back with `put`.
    mutating func take(_ kind: Int, _ index: Int) -> Tensor {
        let t = moments[kind][index]
        moments[kind][index] = Tensor(shape: [0])
        return t
    }

    mutating func put(_ tensor: Tensor, _ kind: Int, _ index: Int) { moments[kind][index] = tensor }

    func expected(for parameters: [Parameter]) -> [(name: String, shape: [Int])] {
        parameters.flatMap { p in suffixes.map { (name: "\(p.name).\($0)", shape: p.shape) } }
    }

    func tensors(for parameters: [Parameter]) -> [(name: String, tensor: Tensor)] {
        parameters.enumerated().flatMap { i, p in
            suffixes.enumerated().map { k, suffix in
                let t =
                    i < moments[k].count && moments[k][i].shape == p.shape
                    ? moments[k][i] : Tensor(shape: p.shape)
                return (name: "\(p.name).\(suffix)", tensor: t)
            }
        }
    }

    /// `tensors` in `expected(for:)` order: parameter-major, moment-minor.
    mutating func restore(_ tensors: [Tensor], parameterCount: Int) {
        precondition(
            tensors.count == parameterCount * suffixes.count, "Optimizer.restoreState: wrong tensor count")
        moments = suffixes.indices.map { k in (0..<parameterCount).map { tensors[$0 * suffixes.count + k] } }
    }
}
