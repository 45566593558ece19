import Foundation

/// What the CPU offers for matrix products, read once at start-up (Linux: /proc/cpuinfo flags;
/// elsewhere nothing is detected and products stay fp32).
public struct CPUFeatures: Sendable, Equatable {
    public var modelName: String
    /// AVX-512 with the bf16 dot-product instructions (Cooper Lake, Sapphire Rapids, Zen 4/5).
    public var avx512BF16: Bool
    /// Intel AMX tiles with bf16 (Sapphire Rapids and later).
    public var amxBF16: Bool

    public init(modelName: String, avx512BF16: Bool, amxBF16: Bool) {
        self.modelName = modelName
        self.avx512BF16 = avx512BF16
        self.amxBF16 = amxBF16
    }

    /// Parses the text of /proc/cpuinfo (the first processor's `model name` and `flags`).
    public init(cpuinfo: String) {
        var model = "unknown CPU", flags = Set<Substring>()
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            if key == "model name" && model == "unknown CPU" {
                model = parts[1].trimmingCharacters(in: .whitespaces)
            } else if key == "flags" && flags.isEmpty {
                flags = Set(parts[1].split(separator: " "))
            }
        }
        self.init(
            modelName: model, avx512BF16: flags.contains("avx512_bf16"), amxBF16: flags.contains("amx_bf16"))
    }

    /// This machine's CPU.
    public static let current: CPUFeatures = {
        #if os(Linux)
            if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
                return CPUFeatures(cpuinfo: text)
            }
        #endif
        return CPUFeatures(modelName: "unknown CPU", avx512BF16: false, amxBF16: false)
    }()

    /// Whether bf16 products run at native speed (instructions that multiply bf16 pairs).
    public var hasFastBF16: Bool { avx512BF16 || amxBF16 }

    /// "AMD EPYC (avx512_bf16)" — for start-up reports.
    public var summary: String {
        let extras = [avx512BF16 ? "avx512_bf16" : nil, amxBF16 ? "amx_bf16" : nil].compactMap { $0 }
        return modelName
            + (extras.isEmpty ? " (no bf16 instructions)" : " (\(extras.joined(separator: ", ")))")
    }
}
