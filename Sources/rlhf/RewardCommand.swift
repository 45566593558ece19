import ArgumentParser
import Foundation
import Models
import TensorCore
import Training

/// `rlhf reward`: a reward model (scalar head on the end-of-turn token) from pairs and rankings.
struct RewardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward",
        abstract:
            "Train a reward model (Bradley–Terry) on {\"prompt\",\"chosen\",\"rejected\"} pairs and {\"prompt\",\"responses\",\"ranking\"} rankings.",
        discussion: """
            Started by `mpirun -np N`, the ranks split each step's comparisons (--batch-size is the \
            global number per step) and rank 0 evaluates and writes the output.
            """)

    @Option(help: "SFT run directory; the reward model starts from it with a new score head.")
    var model: String

    @Option(help: "Comparisons, JSONL (pairs and/or K-wise rankings; a ranking stays whole in one batch).")
    var data: String

    @Option(help: "Held-out comparisons, JSONL (default: --eval-fraction of --data).")
    var eval: String?

    @Option(
        name: .customLong("eval-fraction"),
        help: "Fraction of --data held out for accuracy when --eval is not given.")
    var evalFraction = 0.1

    @Option(help: "Output run directory (with score.weight).")
    var out: String

    @Option(name: .customLong("margin"), help: "Required score gap for every pair (0: plain Bradley–Terry).")
    var marginOption: Double?
    var margin: Double { marginOption ?? RewardModelTraining.Parameters().margin }

    @OptionGroup var stage: StageOptions

    @OptionGroup var lora: LoRAOptions

    func validate() throws {
        guard (0..<1).contains(evalFraction) else {
            throw ValidationError("--eval-fraction must be in [0, 1)")
        }
        guard margin >= 0, margin.isFinite else { throw ValidationError("--margin must not be negative") }
    }

    func run() throws { try DataParallelLaunch.run(train(communicator:)) }

    func train(communicator: any Communicator) throws {
        var sft = try StageRun.load(model, role: "SFT", keepingAdapters: true)
        try lora.prepare(&sft, path: model, seed: stage.seed)
        stage.configure(sft.model)
        let data = try StageRun.data(sft)
        let loaded = try data.comparisons(from: StageRun.url(self.data), options: stage.loadOptions)
        try StageRun.report(loaded, file: self.data, what: "comparisons")
        var train = loaded.rows, heldOut: [RewardModelTraining.Comparison] = []
        var heldOutSource = ""
        if let eval {
            let rows = try data.comparisons(from: StageRun.url(eval), options: stage.loadOptions)
            try StageRun.report(rows, file: eval, what: "comparisons")
            heldOut = rows.rows
            heldOutSource = eval
        } else if evalFraction > 0 {
            // A seeded shuffle, then the tail: the held-out set does not depend on file order.
            var rng = RandomGenerator(seed: stage.seed ^ 0xE7A1)
            let order = Array(train.indices).shuffled(using: &rng)
            let count = train.count >= 2 ? max(1, Int((Double(train.count) * evalFraction).rounded())) : 0
            heldOut = order.suffix(count).map { train[$0] }
            train = order.dropLast(count).map { train[$0] }
            heldOutSource = "\(count) of \(loaded.rows.count) comparisons of \(self.data)"
        }

        var parameters = RewardModelTraining.Parameters()
        parameters.optimization = stage.apply(to: parameters.optimization)
        parameters.comparisonsPerStep = stage.batchSize ?? parameters.comparisonsPerStep
        parameters.margin = margin
        parameters.seed = stage.seed
        parameters.evaluationInterval = heldOut.isEmpty ? 0 : max(1, parameters.optimization.steps / 10)

        let rewardModel = ScalarModel(trunk: sft.model, seed: stage.seed)
        guard communicator.isRoot else {
            _ = try RewardModelTraining.train(
                model: rewardModel, comparisons: train, heldOut: heldOut, padToken: data.padToken,
                parameters: parameters, communicator: communicator)
            return
        }
        let (directory, log) = try StageRun.prepareOutput(out, stage)
        let renderer = ProgressRenderer()
        let before =
            heldOut.isEmpty
            ? nil
            : RewardModelTraining.accuracy(model: rewardModel, comparisons: heldOut, padToken: data.padToken)
        let summary = try RewardModelTraining.train(
            model: rewardModel, comparisons: train, heldOut: heldOut, padToken: data.padToken,
            parameters: parameters, communicator: communicator,
            progress: StageRun.progress(renderer, log))
        renderer.finish()
        try sft.derived(directory: directory, model: rewardModel.trunk, scoreHead: rewardModel.head).save(
            dtype: stage.saveDType.storageDType)
        let pairs = train.reduce(0) { $0 + $1.ranking.count * ($1.ranking.count - 1) / 2 }
        let accuracy =
            heldOut.isEmpty
            ? "no held-out data"
            : "held-out pair accuracy \(StageRun.format(before.map { $0 * 100 }, 1))% → \(StageRun.format(summary.heldOutAccuracy * 100, 1))% (random 50%; held out: \(heldOutSource))"
        print(
            "reward: \(train.count) comparisons (\(pairs) pairs, \(loaded.skippedCount) skipped), \(summary.history.count) steps, loss \(StageRun.format(summary.history.last?["loss"])), \(accuracy); wrote \(directory.url.path)"
        )
    }
}
