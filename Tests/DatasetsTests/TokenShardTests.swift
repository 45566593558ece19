import Foundation
import Testing
@testable import Datasets

@Suite struct TokenShardTests {
    @Test(arguments: [(300, 2), (65_536, 2), (65_537, 4), (200_000, 4)])
    func writeReadRoundTrip(vocabSize: Int, width: Int) throws {
        let scratch = try Scratch()
        let url = scratch.directory.appendingPathComponent("s.tokens")
        var rng = SplitMix64(seed: 1)
        let tokens =
            (0..<1000).map { _ in Int32(rng.next(below: UInt64(vocabSize))) } + [Int32(vocabSize - 1), 0]
        try TokenShard.write(tokens, vocabSize: vocabSize, to: url)
        let shard = try TokenShard(contentsOf: url)
        #expect(shard.count == tokens.count && shard.vocabSize == vocabSize && shard.bytesPerToken == width)
        #expect(shard.tokens(0..<shard.count) == tokens)
        #expect(try Data(contentsOf: url).count == 32 + tokens.count * width)
    }

    @Test func corruptShardsAreRejected() throws {
        let scratch = try Scratch()
        let url = scratch.directory.appendingPathComponent("s.tokens")
        try TokenShard.write([1, 2, 3, 4], vocabSize: 10, to: url)
        let good = try Data(contentsOf: url)
        func error(_ bytes: Data) throws -> String {
            try bytes.write(to: url)
            do { _ = try TokenShard(contentsOf: url); return "opened" } catch { return "\(error)" }
        }
        #expect(try error(good) == "opened")
        #expect(try error(good.prefix(good.count - 1)).contains("truncated"))
        #expect(try error(good.prefix(10)).contains("smaller than its 32-byte header"))
        var magic = good; magic[0] = 0x41
        #expect(try error(magic).contains("magic"))
        var width = good; width[12] = 3
        #expect(try error(width).contains("bytes per token is 3"))
        #expect(throws: DatasetError.self) { try TokenShard.write([1, 10], vocabSize: 10, to: url) }
        #expect(throws: DatasetError.self) {
            try TokenShard(contentsOf: scratch.directory.appendingPathComponent("missing"))
        }
    }

    @Test func samplerIsAFunctionOfSeedAndStep() throws {
        let stream = (0..<5000).map { Int32($0 % 1000) }
        let split = TrainValidationSplit(count: stream.count, validationFraction: 0.1)
        #expect(split.train == 0..<4500 && split.validation == 4500..<5000)
        let sampler = try BatchSampler(seed: 9, batchSize: 4, length: 16, range: split.train)
        // A resumed sampler (decoded from its saved state) sees what the first saw at every step.
        let resumed = try JSONDecoder().decode(BatchSampler.self, from: JSONEncoder().encode(sampler))
        #expect(resumed == sampler)
        for step in [0, 1, 7, 1000] {
            #expect(sampler.batch(step: step, from: stream) == resumed.batch(step: step, from: stream))
        }
        #expect(sampler.windowStarts(step: 0) != sampler.windowStarts(step: 1))
        let other = try BatchSampler(seed: 10, batchSize: 4, length: 16, range: split.train)
        #expect(other.windowStarts(step: 0) != sampler.windowStarts(step: 0))
        // Rows are (T+1)-token windows of consecutive tokens inside the range.
        for step in 0..<200 {
            let batch = sampler.batch(step: step, from: stream)
            #expect(batch.count == 4 * 17)
            for (row, start) in sampler.windowStarts(step: step).enumerated() {
                #expect(start >= 0 && start + 17 <= 4500)
                #expect(Array(batch[(row * 17)..<(row * 17 + 17)]) == Array(stream[start..<(start + 17)]))
            }
        }
        // Validation windows stay in the validation tail.
        let validation = try BatchSampler(seed: 1, batchSize: 8, length: 16, range: split.validation)
        #expect(
            (0..<50).allSatisfy {
                validation.windowStarts(step: $0).allSatisfy { $0 >= 4500 && $0 + 17 <= 5000 }
            })
        #expect(throws: DatasetError.self) {
            try BatchSampler(seed: 1, batchSize: 1, length: 16, range: 0..<16)
        }
        let corrupt = Data(#"{"seed": 1, "batchSize": 0, "length": 16, "range": [0, 100]}"#.utf8)
        #expect(throws: DatasetError.self) { try JSONDecoder().decode(BatchSampler.self, from: corrupt) }
    }

    @Test func samplerReadsShardsLikeArrays() throws {
        let scratch = try Scratch()
        let url = scratch.directory.appendingPathComponent("s.tokens")
        let stream = (0..<3000).map { Int32(($0 * 7) % 512) }
        try TokenShard.write(stream, vocabSize: 512, to: url)
        let shard = try TokenShard(contentsOf: url)
        let sampler = try BatchSampler(seed: 3, batchSize: 2, length: 32, range: 0..<shard.count)
        for step in 0..<20 {
            #expect(sampler.batch(step: step, from: shard) == sampler.batch(step: step, from: stream))
        }
    }

    @Test func samplerCoversTheRangeUniformly() throws {
        // 10 start positions
        let sampler = try BatchSampler(seed: 5, batchSize: 10, length: 1, range: 0..<11)
        var counts = Array(repeating: 0, count: 10)
        for step in 0..<2000 { for s in sampler.windowStarts(step: step) { counts[s] += 1 } }
        #expect(counts.allSatisfy { abs($0 - 2000) < 200 }, "\(counts)")
    }
}
