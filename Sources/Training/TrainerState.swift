import Foundation
import Models
import TensorCore

/// Everything besides weights and moments that a run needs to continue exactly where it
/// stopped (`trainer_state.json`): step, data position, RNG, schedule, best metric, loss
/// history and a stage-specific payload.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Which stage wrote this (`"pretrain"`, `"sft"`, `"ppo"`, …).
    public var stage: String
    /// Optimizer steps completed.
    public var step: Int
    /// Passes over the data completed, and the position inside the current pass (the unit —
    /// batches, sequences, tokens — is the stage's; it is only fed back to the same stage).
    public var epoch: Int
    public var dataPosition: Int
    /// Generator state after the last completed step (batch sampling, dropout, rollouts).
    public var rng: RandomGenerator
    public var schedule: LearningRateSchedule?
    /// Optimizer kind (`Optimizer.kind`), checked against the file on resume.
    public var optimizer: String?
    public var bestMetric: Double?
    public var bestMetricName: String?
    /// (step, loss) of logged steps, for reports and plots.
    public var lossHistory: [LossPoint]
    public var stepGuard: StepGuard?
    /// Stage-specific extra state (see `setPayload` / `payload(as:)`).
    public var payload: JSONValue?

    public struct LossPoint: Codable, Sendable, Equatable {
        public var step: Int
        public var loss: Double
        public init(step: Int, loss: Double) {
            self.step = step
            self.loss = loss
        }
    }

    public init(
        stage: String, step: Int = 0, epoch: Int = 0, dataPosition: Int = 0, rng: RandomGenerator,
        schedule: LearningRateSchedule? = nil, optimizer: String? = nil, bestMetric: Double? = nil,
        bestMetricName: String? = nil, lossHistory: [LossPoint] = [], stepGuard: StepGuard? = nil,
        payload: JSONValue? = nil
    ) {
        self.stage = stage
        self.step = step
        self.epoch = epoch
        self.dataPosition = dataPosition
        self.rng = rng
        self.schedule = schedule
        self.optimizer = optimizer
        self.bestMetric = bestMetric
        self.bestMetricName = bestMetricName
        self.lossHistory = lossHistory
        self.stepGuard = stepGuard
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey {
        case stage, step, epoch, rng, schedule, optimizer, payload
        case dataPosition = "data_position"
        case bestMetric = "best_metric"
        case bestMetricName = "best_metric_name"
        case lossHistory = "loss_history"
        case stepGuard = "step_guard"
    }

    /// Stores any Codable value as the payload.
    public mutating func setPayload<T: Encodable>(_ value: T) throws {
        payload = try JSONDecoder.trainerState.decode(
            JSONValue.self, from: JSONEncoder.trainerState.encode(value))
    }

    /// Decodes the payload as `T` (nil if there is none).
    public func payload<T: Decodable>(as type: T.Type) throws -> T? {
        guard let payload else { return nil }
        return try JSONDecoder.trainerState.decode(T.self, from: JSONEncoder.trainerState.encode(payload))
    }

    /// `trainer_state.json` bytes.
    public func encoded() throws -> Data { try JSONEncoder.trainerState.encode(self) }

    public static func decode(_ data: Data, source: String = "trainer_state.json") throws(CheckpointError)
        -> TrainerState
    {
        do {
            return try JSONDecoder.trainerState.decode(TrainerState.self, from: data)
        } catch {
            throw CheckpointError(path: source, reason: "invalid trainer state: \(describe(error))")
        }
    }
}

/// Turns a `DecodingError` into "field a.b: problem".
func describe(_ error: any Error) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(
            separator: ".")
        return p.isEmpty ? "top level" : "field \(p)"
    }
    switch error as? DecodingError {
    case .keyNotFound(let key, let context)?:
        let p = path(context)
        return "\(p == "top level" ? "" : p + ": ")missing field \(key.stringValue)"
    case .typeMismatch(let type, let context)?: return "\(path(context)): expected \(type)"
    case .valueNotFound(let type, let context)?: return "\(path(context)): expected \(type), found null"
    case .dataCorrupted(let context)?: return "\(path(context)): \(context.debugDescription)"
    default: return String(describing: error)
    }
}

extension JSONEncoder {
    /// Sorted, pretty, and tolerant of NaN/inf losses (written as strings, read back exactly).
    static var trainerState: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }
}

extension JSONDecoder {
    static var trainerState: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}
