import Foundation
import Models
import TensorCore
import Testing

/// Cross-check against the reference `safetensors` Python package, when one is available:
/// `RLHF_SAFETENSORS_PYTHON=/path/to/python` (a Python with `safetensors` and `numpy`).
/// Skipped otherwise, so `swift test` stays offline and self-contained.
private let python = ProcessInfo.processInfo.environment["RLHF_SAFETENSORS_PYTHON"]

@Test(.enabled(if: python != nil, "set RLHF_SAFETENSORS_PYTHON to a Python with safetensors and numpy"))
func safeTensorsInteroperateWithTheReferenceImplementation() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-interop-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let ours = dir.appendingPathComponent("ours.safetensors")
    let theirs = dir.appendingPathComponent("theirs.safetensors")
    try SafeTensors.write(
        [
            ("model.embed_tokens.weight", Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, -6.5])),
            ("model.norm.weight", Tensor(shape: [5], scalars: [0.5, 0.25, 0.125, 1, 2])),
        ],
        metadata: ["format": "pt"], to: ours)
    let script = """
        import sys, numpy as np
        from safetensors.numpy import load_file, save_file
        from safetensors import safe_open
        t = load_file(sys.argv[1])
        with safe_open(sys.argv[1], "np") as f: meta = f.metadata()
        print(sorted(t), t["model.embed_tokens.weight"].shape, float(t["model.embed_tokens.weight"].sum()),
              t["model.norm.weight"].dtype, meta)
        save_file({"half": np.array([[1, -2.5], [0.0009765625, 65504]], dtype=np.float16),
                   "single": np.arange(7, dtype=np.float32)}, sys.argv[2], metadata={"k": "v"})
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python!)
    process.arguments = ["-c", script, ours.path, theirs.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    process.waitUntilExit()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(process.terminationStatus == 0)
    #expect(
        output.trimmingCharacters(in: .whitespacesAndNewlines)
            == "['model.embed_tokens.weight', 'model.norm.weight'] (3, 2) 8.5 float32 {'format': 'pt'}")

    let file = try SafeTensors(contentsOf: theirs)
    #expect(file.metadata == ["k": "v"])
    #expect(
        try file.tensor(named: "half") == Tensor(shape: [2, 2], scalars: [1, -2.5, 0.0009765625, 65504]))
    #expect(try file.tensor(named: "single").scalars == [0, 1, 2, 3, 4, 5, 6])
}
