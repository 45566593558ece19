import NN
import TensorCore
import Testing
import Training

@Test func globalNormClippingScalesAllGradientsTogether() {
    let a = Parameter(name: "a", value: Tensor(shape: [2]), decays: true)
    let b = Parameter(name: "b", value: Tensor(shape: [1]), decays: false)
    a.grad = Tensor(shape: [2], scalars: [3, 4])
    b.grad = Tensor(shape: [1], scalars: [12])
    #expect(GradientClipping.globalNorm([a, b]) == 13)
    // Below the threshold nothing changes.
    #expect(GradientClipping.clip([a, b], maxNorm: 20) == 13)
    #expect(a.grad.scalars == [3, 4] && b.grad.scalars == [12])
    // Above it, every gradient is scaled by maxNorm / norm and the pre-clip norm is returned.
    #expect(GradientClipping.clip([a, b], maxNorm: 6.5) == 13)
    #expect(
        abs(a.grad[flat: 0] - 1.5) < 1e-5 && abs(a.grad[flat: 1] - 2) < 1e-5
            && abs(b.grad[flat: 0] - 6) < 1e-5)
    #expect(abs(GradientClipping.globalNorm([a, b]) - 6.5) < 1e-5)
    // A non-finite norm is reported and the gradients are left for StepGuard.
    b.grad[flat: 0] = .nan
    #expect(GradientClipping.clip([a, b], maxNorm: 1).isNaN)
    #expect(abs(a.grad[flat: 0] - 1.5) < 1e-5)
}

/// Per-token loss ½(w·x − y)², gradient (w·x − y)·x.
private func accumulateSumGradient(_ w: Parameter, _ tokens: [([Float], Float)], scale: Float) -> Double {
    var loss = 0.0
    for (x, y) in tokens {
        let r = w.value[flat: 0] * x[0] + w.value[flat: 1] * x[1] - y
        loss += Double(0.5 * r * r)
        w.grad[flat: 0] += scale * r * x[0]
        w.grad[flat: 1] += scale * r * x[1]
    }
    return loss
}

@Test func accumulationNormalisesByAllTargetTokensOfTheStep() {
    let tokens: [([Float], Float)] = [([1, 0], 2), ([0, 1], -1), ([1, 1], 0.5), ([2, -1], 1)]
    let micro = [Array(tokens[0..<1]), Array(tokens[1..<4])]  // 1 and 3 target tokens
    let w = Parameter(name: "w", value: Tensor(shape: [2], scalars: [0.3, -0.7]), decays: true)

    // Reference: one batch of all four tokens, mean loss.
    let fullLoss = accumulateSumGradient(w, tokens, scale: 0.25) / 4
    let fullGrad = w.grad.scalars
    w.zeroGrad()

    var acc = GradientAccumulation(targetTokenCounts: micro.map(\.count))
    #expect(acc.totalTargetTokens == 4 && acc.gradientScale == 0.25)
    for m in micro {
        let lossSum = accumulateSumGradient(w, m, scale: acc.gradientScale)
        acc.add(lossSum: lossSum, tokens: m.count)
    }
    #expect(acc.isComplete)
    #expect(abs(acc.meanLoss - fullLoss) < 1e-9)
    #expect(zip(w.grad.scalars, fullGrad).allSatisfy { abs($0 - $1) < 1e-6 })

    // The per-micro-batch mean (the known bias) gives a different gradient here.
    w.zeroGrad()
    for m in micro { _ = accumulateSumGradient(w, m, scale: 1 / Float(m.count) / Float(micro.count)) }
    #expect(zip(w.grad.scalars, fullGrad).contains { abs($0 - $1) > 1e-3 })
}

@Test func stepGuardSkipsNonFiniteStepsAndStopsAfterARun() throws {
    let p = Parameter(name: "p", value: Tensor(shape: [2]), decays: true)
    var guardian = StepGuard(maxConsecutiveSkips: 3)
    p.grad = Tensor(shape: [2], scalars: [1, 2])
    #expect(try guardian.check(step: 0, loss: 2.5, gradientNorm: 2.2, parameters: [p]) == .proceed)
    #expect(p.grad.scalars == [1, 2])

    #expect(
        try guardian.check(step: 1, loss: .nan, gradientNorm: 1, parameters: [p])
            == .skip(reason: "loss is nan"))
    #expect(p.grad.scalars == [0, 0], "a skipped step must not leave gradients to accumulate")
    p.grad = Tensor(shape: [2], scalars: [1, 2])
    #expect(
        try guardian.check(step: 2, loss: 1, gradientNorm: .infinity, parameters: [p])
            == .skip(reason: "gradient norm is inf"))
    // A good step resets the run.
    #expect(try guardian.check(step: 3, loss: 1, gradientNorm: 1, parameters: [p]) == .proceed)
    #expect(guardian.consecutiveSkips == 0 && guardian.totalSkips == 2 && guardian.skippedSteps == [1, 2])

    _ = try guardian.check(step: 4, loss: .infinity, gradientNorm: nil, parameters: [p])
    _ = try guardian.check(step: 5, loss: .nan, gradientNorm: nil, parameters: [p])
    #expect(throws: StepGuardError.self) {
        try guardian.check(step: 6, loss: .nan, gradientNorm: .nan, parameters: [p])
    }
    do {
        _ = try guardian.check(step: 7, loss: .nan, gradientNorm: nil, parameters: [p])
    } catch {
        #expect(error.description.contains("consecutive steps skipped up to step 7"))
        #expect(error.description.contains("loss is nan"))
    }
}
