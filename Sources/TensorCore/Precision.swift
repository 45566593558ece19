import Foundation

/// Number format of the inputs of the large matrix products (the layers' projections).
///
/// `bf16` rounds both inputs of a product to bfloat16 and accumulates in fp32 (oneDNN); master
/// weights, gradients, optimizer state, norms, softmax, log-probs and losses stay fp32, so only
/// the products lose precision (8 mantissa bits per input, as PyTorch's bf16 autocast).
public enum Precision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// bf16 when the CPU has bf16 instructions (AVX512-BF16 or AMX-BF16) and oneDNN runs, else fp32.
    case auto
    case fp32
    case bf16

    public var description: String { rawValue }
}

/// The process-wide choice that `BLAS.gemm` consults for products marked `mixed`.
public enum MatmulPrecision {
    /// What `configure` settled on, and why (printed by the command-line tool).
    public struct Choice: Sendable, Equatable {
        public var requested: Precision
        /// `.fp32` or `.bf16`, never `.auto`.
        public var active: Precision
        public var cpu: CPUFeatures
        /// The bf16 backend's implementation (oneDNN's name for it), or why bf16 is not used.
        public var detail: String

        /// "precision bf16 (requested auto) on AMD EPYC (avx512_bf16): oneDNN brg:avx512_core_bf16"
        public var summary: String {
            "precision \(active) (requested \(requested)) on \(cpu.summary): \(detail)"
        }
    }

    private static let lock = NSLock()
    /// Starts from `RLHF_PRECISION` (fp32|bf16|auto; benchmarks and test binaries set it), fp32
    /// when unset: a library user opts in, the command-line tool decides from `--precision`.
    nonisolated(unsafe) private static var activeBF16: Bool = {
        guard let text = ProcessInfo.processInfo.environment["RLHF_PRECISION"],
            let requested = Precision(rawValue: text)
        else { return false }
        return choose(requested).active == .bf16
    }()

    /// Overrides the process-wide choice for the current task (tests compare both paths side by
    /// side without touching what concurrent tests see). `.auto` here means the process choice.
    @TaskLocal public static var override: Precision = .auto

    /// True when mixed products run in bf16 (read on every product; set by `configure`).
    public static var usesBF16: Bool {
        switch override {
        case .bf16: return true
        case .fp32: return false
        case .auto:
            lock.lock()
            defer { lock.unlock() }
            return activeBF16
        }
    }

    /// Settles the precision of mixed products for the rest of the process (or until called again).
    @discardableResult
    public static func configure(_ requested: Precision, cpu: CPUFeatures = .current) -> Choice {
        let choice = choose(requested, cpu: cpu)
        lock.lock()
        activeBF16 = choice.active == .bf16
        lock.unlock()
        return choice
    }

    /// What `configure` would settle on. `bf16` on a CPU without bf16 instructions still runs when
    /// oneDNN can (emulated, slowly) so results can be compared anywhere; `auto` picks bf16 only
    /// where it is fast.
    public static func choose(_ requested: Precision, cpu: CPUFeatures = .current) -> Choice {
        var choice = Choice(requested: requested, active: .fp32, cpu: cpu, detail: "OpenBLAS sgemm")
        let wantBF16: Bool
        switch requested {
        case .fp32: wantBF16 = false
        case .bf16: wantBF16 = true
        case .auto:
            wantBF16 = cpu.hasFastBF16
            if !wantBF16 { choice.detail = "OpenBLAS sgemm (the CPU has no bf16 instructions)" }
        }
        if wantBF16 {
            switch BF16Matmul.probe() {
            case .success(let implementation):
                choice.active = .bf16
                choice.detail = "oneDNN \(implementation)"
            case .failure(let reason):
                choice.detail = "OpenBLAS sgemm (bf16 unavailable: \(reason))"
            }
        }
        return choice
    }
}
