import Foundation
import Models
import TensorCore
import Testing

/// Files written to break the loader (issue 15 item 7): every one must be a thrown error that
/// names the problem, never a trap or a huge allocation.
@Suite struct HostileFileTests {
    static func file(_ header: String, payload: Int = 16) -> Data {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var d = Data()
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: h)
        d.append(Data(count: payload))
        return d
    }

    static func error(_ data: Data) -> String {
        do { _ = try SafeTensors(data: data, source: "evil.safetensors"); return "no error" } catch {
            return error.description
        }
    }

    @Test(arguments: [
        (
            #"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#,
            "is too large (its byte count overflows)"
        ),
        (
            #"{"w":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,16]}}"#,
            "overflows"
        ),
        (#"{"w":{"dtype":"BF16","shape":[3037000500,3037000500],"data_offsets":[0,16]}}"#, "overflows"),
        (
            #"{"w":{"dtype":"F32","shape":[1024,1024],"data_offsets":[0,16]}}"#,
            "needs 4194304 bytes, data_offsets span 16"
        ),
        (
            #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,1099511627776]}}"#,
            "run past the 16 data bytes"
        ),
        (#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[-16,0]}}"#, "data_offsets is not [begin, end]"),
        (#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}}"#, "data_offsets is not [begin, end]"),
        (#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,1e30]}}"#, "data_offsets is not [begin, end]"),
        (#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16.5]}}"#, "data_offsets is not [begin, end]"),
        (
            #"{"w":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,16]}}"#,
            "shape is not a list of non-negative integers"
        ),
        (
            #"{"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}"#,
            "shape is not a list of non-negative integers"
        ),
        (
            #"{"w":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#,
            "shape is not a list of non-negative integers"
        ),
        (
            #"{"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,4],"data_offsets":[0,16]}}"#,
            "more than 8 dimensions"
        ),
        (#"{"w":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}}"#, "unsupported dtype Q4"),
        (
            #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
            "overlap"
        ),
        (#"[1,2,3]"#, "header is not a JSON object"),
    ])
    func hostileHeadersAreErrors(header: String, expected: String) {
        let m = Self.error(Self.file(header))
        #expect(m.contains(expected), "\(m)")
        #expect(m.hasPrefix("evil.safetensors: "))
    }

    @Test func hostileHeaderLengthsAreErrors() {
        var huge = Data()
        withUnsafeBytes(of: UInt64.max.littleEndian) { huge.append(contentsOf: $0) }
        huge.append(Data(count: 32))
        #expect(Self.error(huge).contains("header length 18446744073709551615 exceeds the 32 bytes"))
        #expect(Self.error(Data([1, 2, 3])).contains("shorter than the 8-byte header length"))
        #expect(SafeTensors.maximumHeaderLength == 100_000_000)
    }

    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func hostileShardIndexesAreErrors() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = RunDirectory(dir)
        func indexError(_ index: String) -> String {
            do {
                try Data(index.utf8).write(to: run.modelIndex)
                _ = try run.openWeights()
                return "no error"
            } catch { return "\(error)" }
        }
        try SafeTensors.encode([("a", Tensor(shape: [2], scalars: [1, 2]))]).write(
            to: dir.appendingPathComponent("s1.safetensors"))
        try SafeTensors.encode([
            ("a", Tensor(shape: [1], scalars: [3])), ("b", Tensor(shape: [1], scalars: [4])),
        ])
        .write(to: dir.appendingPathComponent("s2.safetensors"))
        #expect(
            indexError(#"{"weight_map":{"a":"../../etc/passwd"}}"#).contains(
                "is not a file name in this directory"))
        #expect(indexError(#"{"weight_map":{"a":"missing.safetensors"}}"#).contains("cannot read file"))
        #expect(
            indexError(#"{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}"#).contains(
                "tensor a is in both s1.safetensors and s2.safetensors"))
        #expect(indexError(#"{"weight_map":{"a":3}}"#).contains("weight_map.a is not a file name"))
        #expect(indexError(#"{"metadata":{}}"#).contains("weight_map is missing"))
        #expect(indexError("not json").contains("not a JSON object"))
        try SafeTensors.encode([("b", Tensor(shape: [1], scalars: [4]))]).write(
            to: dir.appendingPathComponent("s2.safetensors"))
        #expect(
            indexError(#"{"weight_map":{"a":"s2.safetensors","b":"s1.safetensors"}}"#).contains(
                "weight_map puts"))
        #expect(indexError(#"{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}"#) == "no error")
        #expect(try run.openWeights().tensor(named: "b").scalars == [4])
    }

    @Test(arguments: [
        (#""vocab_size":1e11"#, "vocab size 100000000000 exceeds the limit 16777216"),
        (#""vocab_size":1e30"#, #"field "vocab_size": expected an integer"#),
        (#""vocab_size":-5"#, "vocab size must be positive, got -5"),
        (
            #""vocab_size":16777216,"hidden_size":65536,"num_attention_heads":512,"num_key_value_heads":512"#,
            "more than this machine's"
        ),
        (#""hidden_size":100000"#, "hidden size 100000 exceeds the limit 65536"),
        (#""num_hidden_layers":5000"#, "layers 5000 exceeds the limit 1024"),
        (#""num_attention_heads":5"#, "heads (5) must divide the hidden size (64)"),
        (#""num_key_value_heads":3"#, "key/value heads (3) must divide the heads (4)"),
        (#""head_dim":0"#, "head dimension 0 is outside"),
        (#""head_dim":1000000"#, "head dimension 1000000 is outside"),
        (#""max_position_embeddings":1073741824"#, "context length 1073741824 exceeds the limit"),
        (
            #""intermediate_size":9223372036854775807"#,
            "intermediate size 9223372036854775807 exceeds the limit"
        ),
        (#""rms_norm_eps":0"#, "norm epsilon must be positive"),
        (#""eos_token_id":-1"#, "eos token id -1 is outside the vocabulary"),
    ])
    func hostileConfigsAreErrorsBeforeAllocation(extra: String, expected: String) {
        // The overridden keys are left out of the base (no duplicate keys in the JSON).
        var base: [String: String] = [
            "model_type": #""llama""#, "hidden_size": "64", "intermediate_size": "128",
            "num_attention_heads": "4", "num_key_value_heads": "2",
            "num_hidden_layers": "2", "vocab_size": "100", "max_position_embeddings": "64",
        ]
        let overrides = try! JSONSerialization.jsonObject(with: Data("{\(extra)}".utf8)) as! [String: Any]
        for key in overrides.keys { base[key] = nil }
        let text = "{" + (base.map { "\"\($0.key)\":\($0.value)" } + [extra]).joined(separator: ",") + "}"
        do {
            _ = try ModelConfig.fromHuggingFaceJSON(Data(text.utf8))
            Issue.record("no error for \(extra)")
        } catch {
            #expect(error.description.contains(expected), "\(error)")
        }
    }

    /// A run directory with hostile weights fails to load with the file named.
    @Test func loaderReportsHostileWeights() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = RunDirectory(dir)
        let config = ModelConfig(vocabSize: 16, hiddenSize: 8, layerCount: 1, headCount: 2, contextLength: 8)
        try config.save(to: run.config)
        try Self.file(
            #"{"model.embed_tokens.weight":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#
        )
        .write(to: run.model)
        #expect { _ = try Transformer.load(from: run) } throws: {
            "\($0)".contains("model.safetensors: tensor model.embed_tokens.weight")
        }
        // Right header, wrong tensors: every problem listed.
        try SafeTensors.encode([("model.embed_tokens.weight", Tensor(shape: [16, 4]))]).write(to: run.model)
        #expect { _ = try Transformer.load(from: run) } throws: { error in
            let m = "\(error)"
            return m.contains("mis-shaped tensor model.embed_tokens.weight") && m.contains("missing tensors")
        }
    }
}
