import Foundation
import Models
import TensorCore
import Testing
import Training

/// `scoreTargets` (reference and old-policy scoring) equals log-softmax of the forward's
/// logits / temperature at the next token, and 0 where no target counts.
@Test func scoreTargetsMatchLogits() throws {
    let config = ModelConfig(
        family: .gpt2, vocabSize: 13, hiddenSize: 8, layerCount: 2, headCount: 2, contextLength: 24)
    let model = try Transformer(config: config, seed: 5)
    // Weights far from the initialisation, so the logits are anything but uniform.
    var rng = RandomGenerator(seed: 6)
    for p in model.parameters {
        let isGain = !p.decays && !p.name.hasSuffix(".bias")
        p.value = .randomNormal(shape: p.shape, std: isGain ? 0.2 : 0.35, rng: &rng)
        if isGain { p.value.withUnsafeMutableBufferPointer { b in for i in 0..<b.count { b[i] += 1 } } }
    }
    var tokenRNG = RandomGenerator(seed: 1)
    let tokens = (0..<10).map { _ in Int32(tokenRNG.next() % UInt64(config.vocabSize)) }
    let batch = SequenceBatch(rows: [Array(tokens[0..<5]), Array(tokens[5..<10])], padToken: 0)
    let lp = model.scoreTargets(batch, temperature: 0.8)
    #expect(lp.count == 2 * 5)
    let logits = model.forward(tokens: tokens, batchSize: 2, length: 5).scalars
    let v = config.vocabSize
    for b in 0..<2 {
        for t in 0..<4 {
            let row = (0..<v).map { Double(logits[(b * 5 + t) * v + $0]) / 0.8 }
            let m = row.max()!
            let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
            let want = row[Int(tokens[b * 5 + t + 1])] - lse
            #expect(abs(Double(lp[b * 5 + t]) - want) < 1e-5)
        }
        #expect(lp[b * 5 + 4] == 0)  // the last position has no target
    }
}
