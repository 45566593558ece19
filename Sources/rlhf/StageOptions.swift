import ArgumentParser
import Datasets
import Foundation
import Models
import TensorCore
import Tokenizers
import Training

extension OptimizationSettings.OptimizerKind: ExpressibleByArgument {}
extension LearningRateSchedule.Decay: ExpressibleByArgument {}

/// `--save-dtype`: the dtype of the weights a stage writes.
enum SaveDType: String, ExpressibleByArgument, CaseIterable {
    case auto, f32, bf16, f16

    /// nil for auto: keep the dtype the input model was loaded in.
    var storageDType: ModelConfig.StorageDType? {
        switch self {
        case .auto: nil
        case .f32: .float32
        case .bf16: .bfloat16
        case .f16: .float16
        }
    }
}

/// Optimisation options shared by every training stage. Each is optional: a stage keeps its
/// own default for what is not given.
struct StageOptions: ParsableArguments {
    @Option(help: "Optimizer steps (PPO/GRPO: rollout batches). Unset options keep the stage's defaults.")
    var steps: Int?

    @Option(help: "Peak learning rate.")
    var lr: Float?

    @Option(help: "Linear warmup steps.")
    var warmup: Int?

    @Option(help: "Learning-rate decay after warmup.")
    var schedule: LearningRateSchedule.Decay?

    @Option(help: "Optimizer (momentum and nesterov are SGD with momentum).")
    var optimizer: OptimizationSettings.OptimizerKind?

    @Option(
        name: .customLong("weight-decay"), help: "Decoupled weight decay (adamw; never on norms and biases).")
    var weightDecay: Float?

    @Option(help: "Global gradient-norm clip (0 disables).")
    var clip: Float?

    @Option(
        name: .customLong("batch-size"), help: "Examples (prompts, pairs, comparisons) per optimizer step.")
    var batchSize: Int?

    @Option(help: "Random seed (data order, sampling).")
    var seed: UInt64 = 0

    @Flag(
        help:
            "Skip bad records (each reported with file, line and field, and counted) instead of stopping at the first."
    )
    var lenient = false

    @Flag(
        help:
            "Replace the run already in the output directory (by default an existing run is never overwritten)."
    )
    var overwrite = false

    @Option(
        name: .customLong("save-dtype"),
        help: "Dtype of the weights written: auto keeps the input model's (f32, bf16 or f16).")
    var saveDType: SaveDType = .auto

    @Option(
        help:
            "Matrix products: auto (bf16 when the CPU has AVX512-BF16 or AMX-BF16), fp32 or bf16 (fp32 accumulation)."
    )
    var precision: String = "auto"
    @Flag(
        name: .customLong("recompute-activations"),
        help: "Recompute each block's activations in backward from its input: less memory, more compute.")
    var recomputeActivations = false

    @Option(
        name: .customLong("frozen-dtype"),
        help:
            "Weights of the frozen models (a separate reference, PPO's reward model): f32, or bf16 (half their memory; log-probs within bf16 rounding). A LoRA run's reference is the trained model's own base and stays f32."
    )
    var frozenDType: FrozenDType = .f32

    enum FrozenDType: String, ExpressibleByArgument, CaseIterable { case f32, bf16 }

    /// Applies the memory options to the model being trained.
    func configure(_ model: Transformer) { model.recomputeActivations = recomputeActivations }

    /// `model`, set up as a frozen model (reference, reward) that only runs forward: recomputation
    /// costs it nothing (there is no backward to redo blocks for) and its forward then keeps one
    /// block's activations instead of every block's; with `--frozen-dtype bf16` its matrices are
    /// held in bf16 only.
    func frozen(_ model: Transformer) -> Transformer {
        model.recomputeActivations = true
        if frozenDType == .bf16 { model.holdFrozenWeightsInBF16() }
        return model
    }

    func validate() throws {
        // Settled here because every training stage parses these options before it runs.
        guard let choice = TensorCore.Precision(rawValue: precision) else {
            throw ValidationError("--precision must be auto, fp32 or bf16")
        }
        StageRun.note(MatmulPrecision.configure(choice).summary)
        if let steps, steps < 1 { throw ValidationError("--steps must be positive") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if let weightDecay, !(weightDecay >= 0) {
            throw ValidationError("--weight-decay must not be negative")
        }
        if let clip, !(clip >= 0) { throw ValidationError("--clip must not be negative") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be positive") }
    }

    var loadOptions: LoadOptions { LoadOptions(lenient: lenient) }

    /// `settings` with every option that was given applied.
    func apply(to settings: OptimizationSettings) -> OptimizationSettings {
        var s = settings
        if let steps { s.steps = steps }
        if let lr { s.learningRate = lr }
        if let warmup { s.warmupSteps = warmup }
        if let schedule { s.decay = schedule }
        if let optimizer { s.optimizer = optimizer }
        if let weightDecay { s.weightDecay = weightDecay }
        if let clip { s.gradientClip = clip > 0 ? clip : nil }
        s.warmupSteps = min(s.warmupSteps, max(0, s.steps - 1))
        return s
    }
}

/// What every stage command does around its library call: load runs, report skipped records,
/// render progress, log metrics, save the output run.
enum StageRun {
    static func url(_ path: String) -> URL { URL(fileURLWithPath: path) }

    /// A LoRA adapter run loads as its base plus the adapter; unless `keepingAdapters` (stages that
    /// train adapters themselves: `LoRAOptions.prepare`), the adapter is merged into the weights in
    /// memory, so stages that train every weight and save a full model stay correct.
    static func load(_ path: String, scoreHead: Bool = false, role: String, keepingAdapters: Bool = false)
        throws
        -> ModelRun
    {
        var run: ModelRun
        do { run = try ModelRun.load(RunDirectory(path: path), scoreHead: scoreHead) } catch {
            throw CommandError("cannot load the \(role) run \(path): \(error)")
        }
        if run.lora != nil && !keepingAdapters {
            run.model.mergeLoRA()
            run.lora = nil
        }
        return run
    }

    /// Stage data in the run's own conversation format (ChatML, or a published model's template).
    static func data(_ run: ModelRun) throws -> StageData {
        do { return try StageData(run: run) } catch {
            throw CommandError("\(run.directory.url.path): \(error)")
        }
    }

    /// Prints each skipped record and fails when nothing is left.
    static func report<Row>(_ rows: StageRows<Row>, file: String, what: String) throws {
        for problem in rows.skipped { note("skipped: \(problem)") }
        if rows.skippedCount > 0 {
            note("\(file): skipped \(rows.skippedCount) bad record(s), kept \(rows.rows.count)")
        }
        guard !rows.rows.isEmpty else { throw CommandError("\(file): no usable \(what)") }
    }

    /// Runs a write of `file`, turning Foundation's file errors into a plain message that names
    /// the file ("no space left on device") instead of an `NSCocoaErrorDomain` dump.
    static func writing<T>(_ file: URL, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw AtomicFileError.plain(error, writing: file) }
    }

    static func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

    /// Creates the output directory and a fresh metrics.jsonl in it; a directory that already
    /// holds a run is refused unless `--overwrite` (see `RunOutput.claim`).
    static func prepareOutput(_ path: String, _ options: StageOptions) throws -> (RunDirectory, MetricsLog) {
        let directory = RunDirectory(path: path)
        try RunOutput.claim(directory, overwrite: options.overwrite)
        return (directory, try MetricsLog(url: directory.metrics))
    }

    /// A progress handler that draws the progress line and logs every step's metrics.
    static func progress(_ renderer: ProgressRenderer, _ log: MetricsLog) -> ProgressHandler {
        { p in
            renderer.update(p)
            do { try log.append(step: p.step, metrics: p.metrics) } catch {
                renderer.line("warning: metrics not logged: \(error)")
            }
        }
    }

    static func format(_ value: Double?, _ digits: Int = 4) -> String {
        guard let value else { return "–" }
        return String(format: "%.\(digits)f", value)
    }
}

/// A failure while running a command (as opposed to bad arguments): printed without the usage text.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
