/// The merge table: (left << 32 | right) → (rank << 32 | result), open addressing with a
/// multiplicative hash. BPE looks a pair up at every step, and `Dictionary`'s seeded SipHash was
/// the largest single cost of encoding long pieces.
struct PairTable: Sendable, ExpressibleByDictionaryLiteral {
    /// Token ids are below 2^31, so no real key has all bits set.
    private static let empty = UInt64.max
    private var keys: [UInt64]
    private var values: [UInt64]
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int = 8) {
        var size = 16
        var bits: UInt64 = 4
        while size < capacity * 2 {
            size <<= 1
            bits += 1
        }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        shift = 64 - bits
    }

    init(dictionaryLiteral elements: (UInt64, UInt64)...) {
        self.init(capacity: elements.count)
        for (k, v) in elements { self[k] = v }
    }

    mutating func reserveCapacity(_ capacity: Int) {
        guard capacity * 2 > keys.count else { return }
        rehash(to: capacity)
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    subscript(key: UInt64) -> UInt64? {
        @inline(__always) get {
            keys.withUnsafeBufferPointer { k in
                let mask = k.count - 1
                var s = slot(key)
                while true {
                    let found = k[s]
                    if found == key { return values.withUnsafeBufferPointer { $0[s] } }
                    if found == Self.empty { return nil }
                    s = (s + 1) & mask
                }
            }
        }
        set {
            guard let newValue else { return }  // removal is never needed
            if (count + 1) * 2 > keys.count { rehash(to: count + 1) }
            let mask = keys.count - 1
            var s = slot(key)
            while keys[s] != Self.empty && keys[s] != key { s = (s + 1) & mask }
            if keys[s] == Self.empty { count += 1 }
            keys[s] = key
            values[s] = newValue
        }
    }

    private mutating func rehash(to capacity: Int) {
        var bigger = PairTable(capacity: max(capacity, keys.count))
        for (k, v) in zip(keys, values) where k != Self.empty { bigger[k] = v }
        self = bigger
    }
}
