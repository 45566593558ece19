import TensorCore

/// Named tensors that can be checked and read one at a time: one safetensors file or the
/// shards of a sharded checkpoint.
public protocol TensorSource {
    /// Where the tensors come from (named in errors).
    var source: String { get }
    /// Every tensor's header entry.
    var entries: [SafeTensors.Entry] { get }
    func entry(named name: String) -> SafeTensors.Entry?
    /// The tensor `name` converted to Float32.
    func tensor(named name: String) throws(SafeTensorsError) -> Tensor
}

extension SafeTensors: TensorSource {}

extension TensorSource {
    /// The float dtype holding the most elements (the dtype the checkpoint was saved in).
    public var dominantFloatDType: SafeTensors.DType? {
        var counts: [SafeTensors.DType: Int] = [:]
        for e in entries where e.dtype.isFloatConvertible {
            counts[e.dtype, default: 0] += e.dataOffsets.count / e.dtype.byteCount
        }
        return counts.max { ($0.value, $0.key.byteCount) < ($1.value, $1.key.byteCount) }?.key
    }

    /// Checks that the file holds exactly the `expected` tensors, each with a loadable float
    /// dtype and the expected shape. All problems are collected into one error, so a user sees
    /// every missing, unexpected and mis-shaped tensor at once.
    ///
    /// - Parameter ignoring: names that may be present without being expected (e.g. a tied
    ///   `lm_head.weight` written by another tool).
    public func validate(expected: [(name: String, shape: [Int])], ignoring: Set<String> = [])
        throws(TensorMismatchError)
    {
        var error = TensorMismatchError(source: source)
        let expectedNames = Set(expected.map(\.name))
        for (name, shape) in expected {
            guard let entry = entry(named: name) else {
                error.missing.append(name)
                continue
            }
            if !entry.dtype.isFloatConvertible {
                error.wrongDType.append(.init(name: name, dtype: entry.dtype.rawValue))
            }
            if entry.shape != shape {
                error.misshaped.append(.init(name: name, expected: shape, actual: entry.shape))
            }
        }
        error.unexpected = entries.map(\.name).filter {
            !expectedNames.contains($0) && !ignoring.contains($0)
        }.sorted()
        if !error.isEmpty { throw error }
    }

    /// Validates against `expected` and returns the tensors in that order.
    public func load(expected: [(name: String, shape: [Int])], ignoring: Set<String> = []) throws -> [Tensor]
    {
        try validate(expected: expected, ignoring: ignoring)
        return try expected.map { (entry) throws(SafeTensorsError) -> Tensor in try tensor(named: entry.name)
        }
    }
}

/// Everything that does not match between a checkpoint file and what the model expects.
public struct TensorMismatchError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Misshaped: Sendable, Equatable {
        public var name: String
        public var expected: [Int]
        public var actual: [Int]
        public init(name: String, expected: [Int], actual: [Int]) {
            self.name = name
            self.expected = expected
            self.actual = actual
        }
    }
    public struct WrongDType: Sendable, Equatable {
        public var name: String
        public var dtype: String
        public init(name: String, dtype: String) {
            self.name = name
            self.dtype = dtype
        }
    }

    public var source: String
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var misshaped: [Misshaped] = []
    public var wrongDType: [WrongDType] = []

    public init(source: String) { self.source = source }

    public var isEmpty: Bool {
        missing.isEmpty && unexpected.isEmpty && misshaped.isEmpty && wrongDType.isEmpty
    }

    public var description: String {
        var lines = ["\(source) does not match the model:"]
        if !missing.isEmpty {
            lines.append("  missing tensors (\(missing.count)): \(missing.joined(separator: ", "))")
        }
        if !unexpected.isEmpty {
            lines.append("  unexpected tensors (\(unexpected.count)): \(unexpected.joined(separator: ", "))")
        }
        for m in misshaped {
            lines.append("  mis-shaped tensor \(m.name): expected shape \(m.expected), found \(m.actual)")
        }
        for d in wrongDType {
            lines.append("  tensor \(d.name) has dtype \(d.dtype); expected F32, F16 or BF16")
        }
        return lines.joined(separator: "\n")
    }
}
