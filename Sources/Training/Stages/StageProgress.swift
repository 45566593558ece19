/// What a stage reports after each logged step; the CLI renders it, the library never prints.
public struct StageProgress: Sendable {
    public var stage: String
    /// 1-based step just completed, of `totalSteps`.
    public var step: Int
    public var totalSteps: Int
    /// Named scalars of this step (loss, reward, kl, lr, tokens_per_second, …).
    public var metrics: [String: Double]
    /// A line for the log (a skipped step, an evaluation, a checkpoint), or nil.
    public var note: String?
    /// Named token sequences of this step (e.g. "most_repeated_answer"), for the caller to decode.
    public var sequences: [String: [Int32]]

    public init(
        stage: String, step: Int, totalSteps: Int, metrics: [String: Double], note: String? = nil,
        sequences: [String: [Int32]] = [:]
    ) {
        self.stage = stage
        self.step = step
        self.totalSteps = totalSteps
        self.metrics = metrics
        self.note = note
        self.sequences = sequences
    }
}

public typealias ProgressHandler = (StageProgress) -> Void
