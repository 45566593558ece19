import ArgumentParser
import Foundation
import Models
import TensorCore

/// `--weights` (generate, chat, serve) / `--rollout-weights` (ppo, grpo): the format of the
/// weights generation multiplies by. f32 is the model as loaded; bf16 and int8 (one scale per
/// output channel, weight-only: activations stay fp32) are copies made at start-up and, in
/// training, remade after each optimizer step. Values as `--save-dtype` spells them (fp32 also
/// accepted, as `--precision` spells it).
enum DecodeWeights: String, ExpressibleByArgument, CaseIterable {
    case f32, bf16, int8

    init?(argument: String) {
        self.init(rawValue: argument == "fp32" ? "f32" : argument)
    }

    var format: QuantizedWeights.Format? {
        switch self {
        case .f32: nil
        case .bf16: .bf16
        case .int8: .int8
        }
    }

    /// Makes the copies on `model` and says which path decodes (stderr, like the other start-up notes).
    func apply(to model: Transformer) {
        guard let format else { return }
        model.quantizeForDecoding(format)
        announce(bytesPerToken: model.decodeWeightByteCount)
    }

    func announce(bytesPerToken: Int? = nil) {
        guard let format else { return }
        let bytes = bytesPerToken.map {
            String(format: ", %.3g MiB of weights read per token", Double($0) / 1_048_576)
        }
        StageRun.note(
            "decoding with \(format) weights (\(QuantizedKernelPath.current) kernels\(bytes ?? ""))")
    }
}
