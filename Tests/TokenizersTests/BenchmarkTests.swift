import Foundation
import Testing
@testable import Tokenizers

/// Throughput against Hugging Face `tokenizers` on the same files, for `scripts/bench-tokenizer`
/// (which sets RLHF_TOKENIZER_BENCH to a folder with corpus.txt, <family>.json and
/// ids-hf-<family>.txt). Encodes the corpus line by line on one thread, as the Python side does,
/// checks the ids are identical and prints MB/s. Skipped otherwise.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RLHF_TOKENIZER_BENCH"] != nil))
struct BenchmarkTests {
    @Test(arguments: ["llama3", "sentencepiece"])
    func encodeThroughput(_ family: String) throws {
        let directory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["RLHF_TOKENIZER_BENCH"]!)
        let text = try String(contentsOf: directory.appendingPathComponent("corpus.txt"), encoding: .utf8)
        // Lines end at "\n" bytes (as Characters, "\r\n" is one and would hide its "\n").
        let bytes = Array(text.utf8)
        var lines: [String] = []
        var start = 0
        for (k, b) in bytes.enumerated() where b == 0x0A {
            lines.append(String(decoding: bytes[start...k], as: UTF8.self))
            start = k + 1
        }
        if start < bytes.count { lines.append(String(decoding: bytes[start...], as: UTF8.self)) }
        let tokenizer = try Tokenizer.load(from: directory.appendingPathComponent("\(family).json"))
        // Process CPU time: the machine is shared, and wall time measures the neighbours too.
        func cpuSeconds() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
        }
        var best = Double.infinity
        var ids: [TokenID] = []
        for _ in 0..<2 {
            var out: [TokenID] = []
            let start = cpuSeconds()
            for line in lines { out += tokenizer.encode(line) }
            best = min(best, cpuSeconds() - start)
            ids = out
        }
        let megabytes = Double(text.utf8.count) / 1e6
        print("\(family) swift_cpu_mb_per_s \(String(format: "%.2f", megabytes / best)) tokens \(ids.count)")
        let reference = try String(
            contentsOf: directory.appendingPathComponent("ids-hf-\(family).txt"), encoding: .utf8
        )
        .split(separator: " ").map { TokenID($0)! }
        let identical = ids == reference
        #expect(
            identical,
            "first difference at token \((0..<min(ids.count, reference.count)).first { ids[$0] != reference[$0] } ?? min(ids.count, reference.count))"
        )
        print("\(family) identical_ids \(identical)")
    }

    /// Pre-tokenising with the hand-written Llama 3 scanner against the same regex on ICU
    /// (`NSRegularExpression`) and on Swift `Regex` (Unicode-scalar semantics): same pieces,
    /// and the speed of each.
    @Test func scannerAgainstRegexEngines() throws {
        let directory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["RLHF_TOKENIZER_BENCH"]!)
        let corpus = try Data(contentsOf: directory.appendingPathComponent("corpus.txt"))
        let bytes = Array(corpus.prefix(1_000_000))
        let text = String(decoding: bytes, as: UTF8.self)
        let megabytes = Double(text.utf8.count) / 1e6
        func seconds(_ body: () throws -> Int) rethrows -> (Int, Double) {
            let clock = ContinuousClock()
            var result = 0
            let elapsed = try clock.measure { result = try body() }
            return (
                result, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            )
        }
        let utf8 = Array(text.utf8)
        let (scanned, scannerTime) = seconds {
            utf8.withUnsafeBufferPointer {
                PieceScanner.llama3.pieces($0.baseAddress!, count: $0.count).count
            }
        }
        let icu = try CompiledRegex(PieceScanner.llama3Pattern)
        let (icuCount, icuTime) = seconds { icu.matches(in: utf8).count }
        let swiftRegex = try Regex(PieceScanner.llama3Pattern).matchingSemantics(.unicodeScalar)
        let sample = String(text.prefix(100_000))
        let (_, swiftTime) = try seconds { sample.matches(of: swiftRegex).count }
        let sampleMegabytes = Double(sample.utf8.count) / 1e6
        print(
            "pretokenize_mb_per_s scanner=\(String(format: "%.1f", megabytes / scannerTime)) "
                + "nsregularexpression=\(String(format: "%.1f", megabytes / icuTime)) "
                + "swift_regex=\(String(format: "%.2f", sampleMegabytes / swiftTime))")
        #expect(scanned == icuCount)
    }
}
