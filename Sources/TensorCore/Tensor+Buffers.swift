extension Tensor {
    /// Gives the tensor `shape`, reusing its buffer when the element count is unchanged and the
    /// buffer is not shared (activation buffers reused across steps). Contents are unspecified
    /// after a reallocation (zero) and kept otherwise; callers overwrite them.
    public mutating func resize(to newShape: [Int]) {
        let n = newShape.reduce(1, *)
        if n == count && isKnownUniquelyReferenced(&storage) {
            reshape(newShape)
        } else {
            self = Tensor(shape: newShape)
        }
    }

    /// Copies `other`'s scalars and shape into this tensor's buffer (reused when possible).
    public mutating func assign(_ other: Tensor) {
        resize(to: other.shape)
        other.withUnsafeBufferPointer { src in
            withUnsafeMutableBufferPointer { dst in
                dst.baseAddress!.update(from: src.baseAddress!, count: src.count)
            }
        }
    }

    /// A tensor of `shape` with independent N(0, std²) entries.
    public static func randomNormal(shape: [Int], std: Float, rng: inout RandomGenerator) -> Tensor {
        var t = Tensor(shape: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = rng.nextNormal() * std }
        }
        return t
    }
}
