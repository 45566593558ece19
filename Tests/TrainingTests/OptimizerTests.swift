import Foundation
import NN
import TensorCore
import Testing
@testable import Training

/// Runs `optimizer` for len(gradients) steps on parameters starting at `start`, feeding the
/// given gradient per step; returns the values after each step.
private func run<O: Optimizer>(
    _ optimizer: inout O, start: [Float], gradients: [[Float]], learningRate: Float = 0.1,
    decays: Bool = true
) -> [[Float]] {
    let p = Parameter(name: "w", value: Tensor(shape: [start.count], scalars: start), decays: decays)
    var history: [[Float]] = []
    for g in gradients {
        p.grad = Tensor(shape: [g.count], scalars: g)
        optimizer.step([p], learningRate: learningRate)
        history.append(p.value.scalars)
    }
    return history
}

private func close(_ a: [[Float]], _ b: [[Double]], tolerance: Double = 1e-6) -> Bool {
    a.count == b.count
        && zip(a, b).allSatisfy { x, y in
            x.count == y.count && zip(x, y).allSatisfy { abs(Double($0) - $1) <= tolerance * max(1, abs($1)) }
        }
}

@Test func sgdPlainStepsByLearningRateTimesGradient() {
    var sgd = SGD()
    let h = run(&sgd, start: [1, -2], gradients: [[0.5, 0.25], [0.5, 0.25]])
    #expect(close(h, [[0.95, -2.025], [0.9, -2.05]]))
    #expect(sgd.stepCount == 2)
}

@Test func sgdMomentumMatchesHandComputedBuffers() {
    // b1 = g; b2 = 0.9·0.5 + 0.5 = 0.95; b3 = 0.9·0.95 + 0.5 = 1.355.
    var sgd = SGD(momentum: 0.9)
    let h = run(&sgd, start: [1], gradients: [[0.5], [0.5], [0.5]])
    #expect(close(h, [[0.95], [0.855], [0.7195]]))
}

@Test func sgdNesterovLooksAhead() {
    // Step 1: b = 0.5, d = 0.5 + 0.9·0.5 = 0.95. Step 2: b = 0.95, d = 0.5 + 0.855 = 1.355.
    var sgd = SGD(momentum: 0.9, nesterov: true)
    let h = run(&sgd, start: [1], gradients: [[0.5], [0.5]])
    #expect(close(h, [[0.905], [0.7695]]))
}

@Test func adamMatchesHandComputedSteps() {
    // Reference values from the PyTorch formulation evaluated in double precision.
    var adam = Adam()
    let h = run(&adam, start: [1, -2], gradients: [[0.5, 0.1], [-0.25, 0.3], [0.125, -0.2]])
    #expect(
        close(
            h,
            [
                [0.900000002, -2.09999999], [0.8733662987078463, -2.19177809779441],
                [0.8393233849166541, -2.217568477110207],
            ]))
}

@Test func adamL2WeightDecayIsAddedToTheGradient() {
    var adam = Adam(weightDecay: 0.5)
    let h = run(&adam, start: [1], gradients: [[0.5], [-0.25], [0.125]])
    #expect(close(h, [[0.900000001], [0.8196959042420043], [0.7350408546817984]]))
}

@Test func adamWDecouplesWeightDecay() {
    var adamw = Adam.adamW(weightDecay: 0.5)
    let h = run(&adamw, start: [1, -2], gradients: [[0.5, 0.1], [-0.25, 0.3], [0.125, -0.2]])
    #expect(
        close(
            h,
            [
                [0.8500000019999999, -1.99999999], [0.7808662986078463, -1.99177809829441],
                [0.7077800698862617, -1.9179795726954865],
            ]))
}

@Test func adamWSkipsDecayOnNonDecayingParameters() {
    var adamw = Adam.adamW(weightDecay: 0.5)
    var adam = Adam()
    let grads: [[Float]] = [[0.5, 0.1], [-0.25, 0.3]]
    let withDecayFlagOff = run(&adamw, start: [1, -2], gradients: grads, decays: false)
    let plainAdam = run(&adam, start: [1, -2], gradients: grads)
    #expect(withDecayFlagOff == plainAdam)
}

@Test(arguments: ["sgd", "momentum", "nesterov", "adam", "adamw"])
func optimizersMinimiseAQuadratic(_ name: String) {
    // f(w) = ½ Σ a_i (w_i − c_i)², gradient a_i (w_i − c_i), badly conditioned (a from 0.5 to 2).
    let n = 500
    let a = (0..<n).map { 0.5 + Float($0 % 7) * 0.25 }
    let c = (0..<n).map { Float($0 % 11) - 5 }
    let p = Parameter(name: "w", value: Tensor(shape: [n], repeating: 3), decays: false)
    func loss() -> Double {
        (0..<n).reduce(0) { $0 + 0.5 * Double(a[$1]) * pow(Double(p.value[flat: $1] - c[$1]), 2) }
    }
    var optimizer: any Optimizer =
        switch name {
        case "sgd": SGD()
        case "momentum": SGD(momentum: 0.9)
        case "nesterov": SGD(momentum: 0.9, nesterov: true)
        case "adam": Adam()
        default: Adam.adamW(weightDecay: 0.01)
        }
    let lr: Float = 0.1
    let initial = loss()
    for _ in 0..<200 {
        p.grad = Tensor(
            shape: [n],
            scalars: p.value.withUnsafeBufferPointer { w in (0..<n).map { a[$0] * (w[$0] - c[$0]) } })
        optimizer.step([p], learningRate: lr)
    }
    #expect(loss() < initial * 1e-3, "\(name): loss \(initial) → \(loss())")
}

@Test func parallelAndSerialUpdatesAgree() {
    // The same update on a tensor above and below the parallel threshold gives identical bits.
    let n = OptimizerKernels.parallelThreshold + 3
    let values = (0..<n).map { Float($0 % 13) * 0.1 - 0.6 }
    let grads = (0..<n).map { Float($0 % 5) * 0.3 - 0.7 }
    let big = Parameter(name: "big", value: Tensor(shape: [n], scalars: values), decays: true)
    big.grad = Tensor(shape: [n], scalars: grads)
    var adamw = Adam.adamW(weightDecay: 0.1)
    adamw.step([big], learningRate: 0.01)
    let head = Parameter(
        name: "small", value: Tensor(shape: [100], scalars: Array(values.prefix(100))), decays: true)
    head.grad = Tensor(shape: [100], scalars: Array(grads.prefix(100)))
    var adamw2 = Adam.adamW(weightDecay: 0.1)
    adamw2.step([head], learningRate: 0.01)
    #expect(Array(big.value.scalars.prefix(100)) == head.value.scalars)
}

@Test func optimizerStateUsesPyTorchNamesAndRestoresExactly() {
    let p1 = Parameter(
        name: "model.embed_tokens.weight", value: Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), decays: true)
    let p2 = Parameter(name: "model.norm.weight", value: Tensor(shape: [2], scalars: [1, 1]), decays: false)
    p1.grad = Tensor(shape: [2, 2], scalars: [0.1, -0.2, 0.3, -0.4])
    p2.grad = Tensor(shape: [2], scalars: [0.5, -0.5])
    var a = Adam.adamW(weightDecay: 0.1)
    a.step([p1, p2], learningRate: 0.01)
    let state = a.stateTensors(for: [p1, p2])
    #expect(
        state.map(\.name) == [
            "model.embed_tokens.weight.exp_avg", "model.embed_tokens.weight.exp_avg_sq",
            "model.norm.weight.exp_avg", "model.norm.weight.exp_avg_sq",
        ])
    #expect(a.expectedStateTensors(for: [p1, p2]).map(\.shape) == [[2, 2], [2, 2], [2], [2]])

    var b = Adam.adamW(weightDecay: 0.1)
    b.restoreState(state.map(\.tensor), stepCount: a.stepCount, parameters: [p1, p2])
    let q1 = Parameter(name: p1.name, value: p1.value, decays: true)
    let q2 = Parameter(name: p2.name, value: p2.value, decays: false)
    q1.grad = p1.grad
    q2.grad = p2.grad
    a.step([p1, p2], learningRate: 0.01)
    b.step([q1, q2], learningRate: 0.01)
    #expect(p1.value == q1.value && p2.value == q2.value)

    var sgd = SGD(momentum: 0.9)
    sgd.step([p1], learningRate: 0.1)
    #expect(sgd.stateTensors(for: [p1]).map(\.name) == ["model.embed_tokens.weight.momentum_buffer"])
    #expect(SGD().stateTensors(for: [p1]).isEmpty)
}
