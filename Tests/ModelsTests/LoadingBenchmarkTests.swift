import Foundation
import Models
import Testing
import TensorCore

/// Time and peak memory of loading a Qwen2.5-0.5B-shaped bf16 checkpoint (494M parameters,
/// random weights written by our writer). Off by default; `RLHF_BENCH_LOAD=DIR` runs it: the
/// first run writes DIR, a second run (a fresh process, so its peak RSS is the load alone) loads.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RLHF_BENCH_LOAD"] != nil))
struct LoadingBenchmarkTests {
    static let config = ModelConfig(
        family: .qwen2, vocabSize: 151_936, hiddenSize: 896, layerCount: 24, headCount: 14,
        kvHeadCount: 2, intermediateSize: 4864, contextLength: 4096, normEpsilon: 1e-6,
        ropeTheta: 1_000_000, tieEmbeddings: true, storageDType: .bfloat16)

    static func status(_ key: String) -> String {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").first { $0.hasPrefix(key) }.map {
            $0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)
        } ?? "?"
    }

    @Test func loadQwen2Sized() throws {
        let run = RunDirectory(path: ProcessInfo.processInfo.environment["RLHF_BENCH_LOAD"]!)
        if !run.hasModel {
            let start = Date()
            let model = try Transformer(config: Self.config, seed: 1)
            try run.create()
            try model.config.save(to: run.config)
            try model.encodedWeights().write(to: run.model)
            print(
                "wrote \(model.parameterCount) parameters in \(Date().timeIntervalSince(start)) s; run again to load"
            )
            return
        }
        let start = Date()
        let model = try Transformer.load(from: run)
        let seconds = Date().timeIntervalSince(start)
        let size = (try FileManager.default.attributesOfItem(atPath: run.model.path)[.size] as? Int) ?? 0
        print(
            "loaded \(model.parameterCount) parameters (\(model.storageDType), file \(size / 1_000_000) MB) in \(String(format: "%.1f", seconds)) s; peak RSS \(Self.status("VmHWM")), now \(Self.status("VmRSS"))"
        )
    }
}
