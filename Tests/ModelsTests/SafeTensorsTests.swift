import Foundation
import Models
import TensorCore
import Testing

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "safetensors-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Test func safeTensorsRoundTripsTensorsAndMetadata() throws {
    let a = Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, .infinity, -0.125])
    let b = Tensor(shape: [], scalars: [42])
    let c = Tensor(shape: [0, 4])
    let data = SafeTensors.encode(
        [("layer.a", a), ("b", b), ("empty", c)], metadata: ["format": "pt", "step": "7"])
    let file = try SafeTensors(data: data)
    #expect(file.names == ["layer.a", "b", "empty"])
    #expect(file.metadata == ["format": "pt", "step": "7"])
    #expect(try file.tensor(named: "layer.a") == a)
    #expect(try file.tensor(named: "b") == b)
    #expect(try file.tensor(named: "empty").shape == [0, 4])
}

@Test func safeTensorsHeaderFollowsTheFormat() throws {
    let data = SafeTensors.encode(
        [("w", Tensor(shape: [1, 2], scalars: [1, 2]))], metadata: ["format": "pt"])
    let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    #expect((8 + headerLength) % 8 == 0, "data section must start 8-byte aligned")
    let header = String(decoding: data[8..<(8 + headerLength)], as: UTF8.self)
    #expect(header.hasPrefix("{"))
    #expect(header.trimmingCharacters(in: .whitespaces).hasSuffix("}"))
    let json = try JSONSerialization.jsonObject(with: Data(header.utf8)) as! [String: Any]
    let w = json["w"] as! [String: Any]
    #expect(w["dtype"] as? String == "F32")
    #expect(w["shape"] as? [Int] == [1, 2])
    #expect(w["data_offsets"] as? [Int] == [0, 8])
    #expect((json["__metadata__"] as? [String: String]) == ["format": "pt"])
    // Little-endian float 1.0 = 00 00 80 3f.
    #expect(Array(data[(8 + headerLength)..<(12 + headerLength)]) == [0x00, 0x00, 0x80, 0x3F])
    #expect(data.count == 8 + headerLength + 8)
}

/// Builds a file by hand with arbitrary dtypes (what other tools write).
private func handMade(_ header: String, _ payload: [UInt8]) -> Data {
    var h = Array(header.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    var d = Data()
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { d.append(contentsOf: $0) }
    d.append(contentsOf: h)
    d.append(contentsOf: payload)
    return d
}

@Test func safeTensorsReadsHalfAndBFloat16AsFloat32() throws {
    // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800, smallest subnormal 0x0001 = 2^-24.
    // BF16: 1.0 = 0x3F80, -3.0 = 0xC040.
    let data = handMade(
        #"{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}"#,
        [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0x01, 0x00, 0x80, 0x3F, 0x40, 0xC0])
    let file = try SafeTensors(data: data)
    #expect(try file.tensor(named: "h").scalars == [1, -2, 0.5, 0x1p-24])
    #expect(try file.tensor(named: "b").scalars == [1, -3])
}

@Test func safeTensorsRejectsCorruptFilesWithClearErrors() throws {
    func reason(_ data: Data) -> String {
        do { _ = try SafeTensors(data: data, source: "bad.safetensors"); return "no error" } catch {
            return error.description
        }
    }
    #expect(reason(Data([1, 2, 3])).contains("shorter than the 8-byte header length"))
    var huge = Data()
    withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { huge.append(contentsOf: $0) }
    huge.append(contentsOf: [0x7B, 0x7D])
    #expect(reason(huge).contains("header length"))
    #expect(reason(handMade("{not json", [])).contains("not valid JSON"))
    #expect(
        reason(
            handMade(
                #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, Array(repeating: 0, count: 8))
        )
        .contains("shape [3] of F32 needs 12 bytes"))
    #expect(
        reason(
            handMade(
                #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, Array(repeating: 0, count: 8))
        )
        .contains("run past"))
    #expect(
        reason(handMade(#"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, [0])).contains(
            "unsupported dtype Q4"))
    #expect(
        reason(
            handMade(
                #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                Array(repeating: 0, count: 8))
        ).contains("overlap"))
    // Truncating a valid file is caught too.
    let good = SafeTensors.encode([("w", Tensor(shape: [4], repeating: 1))])
    #expect(reason(good.prefix(good.count - 4)).contains("run past"))
}

@Test func safeTensorsValidationListsEveryProblem() throws {
    let data = SafeTensors.encode([
        ("a", Tensor(shape: [2, 3])), ("b", Tensor(shape: [4])), ("extra", Tensor(shape: [1])),
    ])
    let file = try SafeTensors(data: data, source: "model.safetensors")
    do {
        try file.validate(expected: [("a", [3, 2]), ("b", [4]), ("missing.weight", [5])])
        Issue.record("expected a mismatch")
    } catch {
        #expect(error.missing == ["missing.weight"])
        #expect(error.unexpected == ["extra"])
        #expect(error.misshaped == [.init(name: "a", expected: [3, 2], actual: [2, 3])])
        let text = error.description
        #expect(text.contains("missing tensors (1): missing.weight"))
        #expect(text.contains("unexpected tensors (1): extra"))
        #expect(text.contains("mis-shaped tensor a: expected shape [3, 2], found [2, 3]"))
    }
    try file.validate(expected: [("a", [2, 3]), ("b", [4])], ignoring: ["extra"])
}

@Test func safeTensorsWriteIsAtomicAndMemoryMappedReadWorks() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("w.safetensors")
    try SafeTensors.write([("x", Tensor(shape: [3], scalars: [1, 2, 3]))], to: url)
    try SafeTensors.write([("x", Tensor(shape: [3], scalars: [4, 5, 6]))], to: url)
    #expect(try SafeTensors(contentsOf: url).tensor(named: "x").scalars == [4, 5, 6])
    // No temporary files remain next to the destination.
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["w.safetensors"])
}

@Test func atomicWriterCleansUpItsTemporaries() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let target = dir.appendingPathComponent("config.json")
    try AtomicFileWriter.write(Data("old".utf8), to: target)
    // A write interrupted before its rename leaves only a temporary; the target is untouched.
    let leftover = AtomicFileWriter.temporaryURL(for: target)
    try AtomicFileWriter.writeDurably(Data("half-written".utf8), to: leftover)
    #expect(try String(contentsOf: target, encoding: .utf8) == "old")
    let removed = AtomicFileWriter.removeTemporaries(in: dir)
    #expect(removed.map(\.lastPathComponent) == [leftover.lastPathComponent])
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["config.json"])
}
