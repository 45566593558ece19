import Foundation

/// The compute targets are built for x86-64-v3 (AVX2 + FMA) by default (see Package.swift). On
/// an older CPU their first vector instruction would kill the process with SIGILL and no word of
/// why; this check runs before any of them and says how to rebuild instead.
enum CPUCheck {
    /// A message naming the missing instruction-set extensions, or nil when the CPU has them
    /// (or when the build does not assume them, or the CPU's flags cannot be read).
    static func problem(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
        -> String?
    {
        #if RLHF_REQUIRES_AVX2_FMA
            guard let cpuinfo,
                let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
            else {
                return nil
            }
            let flags = Set(
                line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
            let missing = ["avx2", "fma"].filter { !flags.contains($0) }
            guard !missing.isEmpty else { return nil }
            return """
                error: this build of rlhf targets x86-64 CPUs with AVX2 and FMA (Haswell, Zen and later), \
                and this CPU lacks \(missing.joined(separator: ", ")). Rebuild for baseline x86-64: \
                RLHF_TARGET_CPU=x86-64 swift build -c release
                """
        #else
            return nil
        #endif
    }
}
