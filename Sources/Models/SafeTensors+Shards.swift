import Foundation
import TensorCore

/// A sharded checkpoint: `model.safetensors.index.json` (`{"metadata": {…}, "weight_map":
/// {tensor name: shard file}}`) and the shard files beside it, read as one `TensorSource`.
/// Each shard is memory-mapped; tensors are converted one at a time.
public struct SafeTensorsShards: TensorSource, Sendable {
    public let source: String
    public let shards: [SafeTensors]
    public let entries: [SafeTensors.Entry]
    private let location: [String: Int]  // tensor name → shard

    /// Reads the index at `url` and opens every shard it names (plain file names in the same
    /// directory; a path that leaves it is refused).
    public init(index url: URL) throws(SafeTensorsError) {
        let source = url.path
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(source: source, reason: reason) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw fail("cannot read file: \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        guard let map = object["weight_map"] as? [String: Any] else {
            throw fail("weight_map is missing or not an object")
        }
        var wantedFile: [String: String] = [:]
        for (name, value) in map.sorted(by: { $0.key < $1.key }) {
            guard let file = value as? String else { throw fail("weight_map.\(name) is not a file name") }
            guard !file.isEmpty, !file.contains("/"), !file.contains("\\"), file != ".", file != ".." else {
                throw fail("weight_map.\(name): shard \"\(file)\" is not a file name in this directory")
            }
            wantedFile[name] = file
        }
        // Shards in name order (model-00001-of-00002 first): deterministic errors and entries.
        let files = Set(wantedFile.values).sorted()
        let fileIndex = Dictionary(uniqueKeysWithValues: files.enumerated().map { ($1, $0) })
        let wanted = wantedFile.mapValues { fileIndex[$0]! }
        let directory = url.deletingLastPathComponent()
        var shards: [SafeTensors] = []
        for file in files {
            shards.append(try SafeTensors(contentsOf: directory.appendingPathComponent(file)))
        }
        var entries: [SafeTensors.Entry] = []
        var location: [String: Int] = [:]
        for (i, shard) in shards.enumerated() {
            for entry in shard.entries {
                if let other = location[entry.name] {
                    throw fail("tensor \(entry.name) is in both \(files[other]) and \(files[i])")
                }
                location[entry.name] = i
                entries.append(entry)
            }
        }
        for (name, shard) in wanted.sorted(by: { $0.key < $1.key }) where location[name] != shard {
            throw fail("weight_map puts \(name) in \(files[shard]), which does not hold it")
        }
        self.source = source
        self.shards = shards
        self.entries = entries
        self.location = location
    }

    public func entry(named name: String) -> SafeTensors.Entry? {
        location[name].flatMap { shards[$0].entry(named: name) }
    }

    public func tensor(named name: String) throws(SafeTensorsError) -> Tensor {
        guard let shard = location[name] else {
            throw SafeTensorsError(source: source, reason: "no tensor named \(name)")
        }
        return try shards[shard].tensor(named: name)
    }
}
