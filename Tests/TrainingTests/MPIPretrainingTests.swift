import Datasets
import Demo
import Foundation
import Models
import Testing
import Tokenizers
@testable import Training

/// `mpirun -np 2 rlhf pretrain …` against `rlhf pretrain …`: real processes, Open MPI's
/// transport, the command's rank-0-writes logic. Needs `mpirun` (scripts/setup installs it) and
/// the `rlhf` executable beside the test bundle (built by `swift test`).
@Suite(.enabled(if: MPIRun.mpirun != nil, "mpirun is not installed (scripts/setup installs openmpi-bin)"))
struct MPIPretrainingTests {
    @Test func twoRanksFollowOneProcess() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rlhf-mpi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let documents = DemoTasks.pretrainingDocuments(seed: 5, byteCount: 40_000)
        let corpus = root.appendingPathComponent("corpus.txt")
        try documents.joined(separator: "\n\n").write(to: corpus, atomically: true, encoding: .utf8)
        try BPETrainer.train(texts: documents, parameters: .init(vocabularySize: 320)).write(
            to: root.appendingPathComponent("tok"))

        func pretrain(_ out: String) -> [String] {
            [
                "pretrain", "--data", corpus.path, "--tokenizer", root.appendingPathComponent("tok").path,
                "--out", root.appendingPathComponent(out).path, "--config", "tiny", "--width", "32",
                "--context", "32",
                "--steps", "6", "--batch-size", "4", "--eval-interval", "3", "--checkpoint-interval", "3",
                // Exactness of the data-parallel split is checked in fp32; bf16 products (the default
                // on CPUs with bf16 instructions) round the two runs' activations differently.
                "--precision", "fp32",
            ]
        }
        let rlhf = try MPIRun.rlhf()
        let one = try MPIRun.run(rlhf, pretrain("one"))
        #expect(one.status == 0, "\(one.output)")
        let two = try MPIRun.run(
            MPIRun.mpirun!, ["--oversubscribe", "-np", "2", rlhf.path] + pretrain("two"))
        #expect(two.status == 0, "\(two.output)")
        #expect(two.output.contains("data parallel: 2 ranks"), "\(two.output)")

        let a = try MetricsLog.read(RunDirectory(root.appendingPathComponent("one")).metrics)
        let b = try MetricsLog.read(RunDirectory(root.appendingPathComponent("two")).metrics)
        #expect(a.count == 6 && b.count == 6, "rank 0 alone writes metrics.jsonl, one line per step")
        func loss(_ line: [String: JSONValue]) -> Double {
            if case .number(let v)? = line["loss"] { return v }
            return .nan
        }
        for (i, (x, y)) in zip(a, b).enumerated() {
            #expect(abs(loss(x) - loss(y)) < 1e-5, "step \(i + 1): \(loss(x)) vs \(loss(y))")
        }
        // A configuration no rank can train ends the whole job with the reason (no rank left
        // waiting in a collective).
        var bad = pretrain("bad")
        bad[bad.firstIndex(of: "--batch-size")! + 1] = "1"
        let refused = try MPIRun.run(MPIRun.mpirun!, ["--oversubscribe", "-np", "2", rlhf.path] + bad)
        #expect(refused.status != 0)
        #expect(refused.output.contains("--batch-size 1 is smaller than the 2 ranks"), "\(refused.output)")

        let config = try RunDirectory(root.appendingPathComponent("one")).loadConfig()
        let wa = try ModelRunWeights.load(RunDirectory(root.appendingPathComponent("one")), config: config)
        let wb = try ModelRunWeights.load(RunDirectory(root.appendingPathComponent("two")), config: config)
        for (x, y) in zip(wa, wb) {
            let worst = zip(x.value.scalars, y.value.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4, "\(x.name) differs by \(worst)")
        }
    }
}

enum MPIRun {
    static let mpirun: URL? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map {
            URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun")
        }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// The `rlhf` executable of this build (beside the test bundle).
    static func rlhf() throws -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("rlhf")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw DataParallelError(
            "no rlhf executable near \(CommandLine.arguments[0]); run `swift build` first")
    }

    static func run(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
