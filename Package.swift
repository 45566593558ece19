// swift-tools-version: 6.1
import Foundation
import PackageDescription

// Compute-heavy targets are always compiled with optimisation, even in debug builds, so that
// `swift test` (debug) runs the numeric tests at a useful speed. On x86-64 they also target
// Haswell-class CPUs (AVX2 + FMA, every x86-64 CPU since 2013/2015): the kernels' SIMD8<Float>
// then compile to single 256-bit instructions instead of pairs of SSE ones. Override with
// `RLHF_TARGET_CPU=x86-64` (baseline) or e.g. `RLHF_TARGET_CPU=sapphirerapids`.
//
// SwiftPM refuses unsafe flags in a package that another package depends on by version. Built as
// a dependency (its checkout sits in a `checkouts` folder), swift-rlhf therefore drops them: the
// dependent's release build still optimises everything, its debug build runs the kernels slower.
// `RLHF_UNSAFE_FLAGS=0|1` overrides the guess.
let environment = ProcessInfo.processInfo.environment
let builtAsDependency =
    URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent()
    .lastPathComponent == "checkouts"
let useUnsafeFlags = environment["RLHF_UNSAFE_FLAGS"].map { $0 != "0" } ?? !builtAsDependency
#if arch(x86_64)
    let targetCPU = environment["RLHF_TARGET_CPU"] ?? "haswell"
    let optimized: [SwiftSetting] = useUnsafeFlags ? [.unsafeFlags(["-O", "-target-cpu", targetCPU])] : []
    // The command-line tool checks at start-up that the CPU has what the default build assumes, and
    // says how to rebuild instead of dying on an illegal instruction.
    let executableSettings: [SwiftSetting] =
        useUnsafeFlags && targetCPU == "haswell" ? [.define("RLHF_REQUIRES_AVX2_FMA")] : []
#else
    let optimized: [SwiftSetting] = useUnsafeFlags ? [.unsafeFlags(["-O"])] : []
    let executableSettings: [SwiftSetting] = []
#endif

// C is compiled optimised too (its vector code is selected per function with `target` attributes,
// so no architecture flag is needed).
let optimizedC: [CSetting] = useUnsafeFlags ? [.unsafeFlags(["-O3"])] : []

// Library targets, in dependency order (dependencies point down the pipeline only).
var targets: [Target] = [
    .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
    .systemLibrary(
        name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
    // oneDNN: bf16 matrix products (mixed precision); Debian libdnnl-dev.
    .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
    // C kernels that need per-function instruction sets chosen at run time (AVX2 / AVX-512):
    // the weight-only quantized products of decoding.
    .target(name: "CKernels", path: "Sources/CKernels", cSettings: optimizedC),
    .target(name: "TensorCore", dependencies: ["CBLAS", "CDNNL", "CKernels"], swiftSettings: optimized),
    .target(name: "NN", dependencies: ["TensorCore"], swiftSettings: optimized),
    // Order- and byte-preserving JSON, read by both tokenizer.json and chat-template data.
    .target(name: "OrderedJSON", swiftSettings: optimized),
    .target(name: "Tokenizers", dependencies: ["OrderedJSON"], swiftSettings: optimized),
    .target(name: "Templates", dependencies: ["OrderedJSON"], swiftSettings: optimized),
    .target(
        name: "Models", dependencies: ["NN", "TensorCore", "Tokenizers", "Templates"],
        swiftSettings: optimized),
    .target(name: "Datasets", dependencies: ["Tokenizers"], swiftSettings: optimized),
    .target(
        name: "Training",
        dependencies: ["Models", "Datasets", "NN", "TensorCore", "Tokenizers", "Templates"],
        swiftSettings: optimized),
    // The built-in demo: tasks, their verifier, simulated labelers, the whole pipeline and its report.
    .target(
        name: "Demo", dependencies: ["Datasets", "Training", "Models", "NN", "TensorCore", "Tokenizers"],
        swiftSettings: optimized),
    .target(name: "MPIBackend", dependencies: ["CMPI", "Training", "TensorCore"]),
    .target(
        name: "Serving",
        dependencies: [
            "Models", "Tokenizers", "Templates",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    .executableTarget(
        name: "rlhf",
        dependencies: [
            "Tokenizers", "Templates", "Models", "Datasets", "Training", "Demo", "Serving", "MPIBackend",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: executableSettings),
]

let testTargets: [Target] = [
    .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"]),
    .testTarget(name: "NNTests", dependencies: ["NN", "TensorCore"]),
    .testTarget(name: "OrderedJSONTests", dependencies: ["OrderedJSON"]),
    .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], exclude: ["Fixtures"]),
    .testTarget(name: "TemplatesTests", dependencies: ["Templates"], exclude: ["Fixtures"]),
    .testTarget(
        name: "ModelsTests", dependencies: ["Models", "NN", "TensorCore", "Tokenizers"], exclude: ["Fixtures"]
    ),
    .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tokenizers"]),
    .testTarget(
        name: "TrainingTests",
        dependencies: [
            "Training", "Demo", "Models", "Datasets", "TensorCore", "NN", "Tokenizers", "Templates",
        ]),
    .testTarget(
        name: "DemoTests",
        dependencies: ["Demo", "Training", "Models", "Datasets", "TensorCore", "NN", "Tokenizers"]),
    .testTarget(
        name: "ServingTests",
        dependencies: [
            "Serving", "Models", "Tokenizers",
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
]

// Developer convenience: `RLHF_ONLY="Tokenizers Datasets" swift test --scratch-path .build-x`
// builds only those targets, their dependencies and their test targets, so work on one layer
// does not compile the HTTP stack. Unset (CI, users), the whole package is built.
let only = environment["RLHF_ONLY"].map {
    Set($0.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init))
}
@MainActor func localDependencies(_ target: Target) -> [String] {
    // Local (by-name) dependencies; products of other packages are not filtered.
    target.dependencies.compactMap { dep in
        let name = String(describing: dep)
        return (targets + testTargets).first { name.contains("\"\($0.name)\"") }?.name
    }
}
var selected = targets + testTargets
if let only {
    var keep = Set<String>()
    var queue = Array(only) + testTargets.filter { only.contains(String($0.name.dropLast(5))) }.map(\.name)
    while let name = queue.popLast() {
        guard keep.insert(name).inserted, let t = selected.first(where: { $0.name == name }) else { continue }
        queue += localDependencies(t)
    }
    selected = selected.filter { keep.contains($0.name) }
}

let package = Package(
    name: "swift-rlhf",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rlhf", targets: ["rlhf"]),
        .library(
            name: "RLHF",
            targets: ["TensorCore", "NN", "Tokenizers", "Templates", "Models", "Datasets", "Training"]),
    ].filter { _ in only == nil },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: selected,
    swiftLanguageModes: [.v6]
)
