import Foundation
import Models
import Testing
@testable import Training

@Suite struct RunOutputTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent(
        "rlhf-output-\(UUID().uuidString)")

    @Test func anExistingRunIsRefusedUnlessOverwriteWhichDeletesOnlyRunFiles() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let run = RunDirectory(root.appendingPathComponent("run"))
        try RunOutput.claim(run, overwrite: false)  // new: fine
        try RunOutput.claim(run, overwrite: false)  // empty: fine
        for name in ["config.json", "model.safetensors", "metrics.jsonl", "notes.txt"] {
            try Data("x".utf8).write(to: run.file(name))
        }
        try FileManager.default.createDirectory(at: run.file("data"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: run.file("data/train.bin"))
        do {
            try RunOutput.claim(run, overwrite: false)
            Issue.record("an existing run was claimed without --overwrite")
        } catch let error as RunOutputError {
            #expect(
                error.description.contains("already holds a run") && error.description.contains("--overwrite")
            )
        }
        #expect(FileManager.default.fileExists(atPath: run.metrics.path))
        try RunOutput.claim(run, overwrite: true)
        #expect(RunOutput.existingRun(in: run).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: run.file("data/train.bin").path))
        #expect(
            FileManager.default.fileExists(atPath: run.file("notes.txt").path), "a file of the user's is kept"
        )
    }

    @Test func anExistingOutputFileIsRefusedUnlessOverwrite() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let file = root.appendingPathComponent("tri.ngram")
        try RunOutput.claimFile(file, overwrite: false)
        try Data("x".utf8).write(to: file)
        #expect(throws: RunOutputError.self) { try RunOutput.claimFile(file, overwrite: false) }
        try RunOutput.claimFile(file, overwrite: true)
    }

    @Test func staleMetricsTemporariesAreRemovedWhenTheLogOpens() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let url = root.appendingPathComponent("metrics.jsonl")
        try Data("{\"step\":1,\"loss\":2}\n{\"step\":2,\"loss\":1}\n".utf8).write(to: url)
        // What a process killed while cutting the log leaves behind.
        let stale = root.appendingPathComponent("\(AtomicFileWriter.temporaryPrefix)4242-17-metrics.jsonl")
        try Data("{\"step\":1".utf8).write(to: stale)
        let other = root.appendingPathComponent(
            "\(AtomicFileWriter.temporaryPrefix)4242-17-model.safetensors")
        try Data().write(to: other)
        _ = try MetricsLog(url: url, keepingStepsThrough: 1)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(
            FileManager.default.fileExists(atPath: other.path), "only the log's own temporaries are removed")
        #expect(try MetricsLog.read(url).count == 1)
    }

    @Test func diskFullErrorsNameTheFilePlainly() throws {
        let file = URL(fileURLWithPath: "/tmp/run/tokenizer.json")
        let cocoa = NSError(
            domain: NSCocoaErrorDomain, code: CocoaError.fileWriteOutOfSpace.rawValue,
            userInfo: [NSFilePathErrorKey: file.path])
        let plain = AtomicFileError.plain(cocoa, writing: file)
        #expect("\(plain)" == "cannot write /tmp/run/tokenizer.json: \(String(cString: strerror(ENOSPC)))")
        #expect(!"\(plain)".contains("NSCocoaErrorDomain"))
        // A real write that runs out of space (Linux's /dev/full answers every write with ENOSPC).
        #if os(Linux)
            let full = URL(fileURLWithPath: "/dev/full")
            do {
                try Data(repeating: 1, count: 100).write(to: full)
                Issue.record("a write to /dev/full succeeded")
            } catch {
                let described = "\(AtomicFileError.plain(error, writing: full))"
                #expect(
                    described.contains("/dev/full") && described.contains(String(cString: strerror(ENOSPC))),
                    "\(described)")
            }
        #endif
        let unrelated = CheckpointError(path: "x", reason: "y")
        #expect(AtomicFileError.plain(unrelated, writing: file) is CheckpointError)
    }
}
