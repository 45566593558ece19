/// The merge table: (left << 32 | right) → (rank << 32 | result), open addressing with a
/// multiplicative hash. BPE looks a pair up at every step, and `Dictionary`'s seeded SipHash was
/// the largest single cost of encoding long pieces.
struct PairTable: Sendable, ExpressibleByDictionaryLiteral {
    /// Token ids are below 2^31, so no real key has all bits set.
    private static let empty = UInt64.max
    /// Key at 2·slot, value at 2·slot + 1: a hit costs one cache line.
    private var slots: [UInt64]
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int = 8) {
        var size = 16
        var bits: UInt64 = 4
        while size < capacity * 2 {
            size <<= 1
            bits += 1
        }
        slots = [UInt64](repeating: Self.empty, count: 2 * size)
        shift = 64 - bits
    }

    init(dictionaryLiteral elements: (UInt64, UInt64)...) {
        self.init(capacity: elements.count)
        for (k, v) in elements { self[k] = v }
    }

    mutating func reserveCapacity(_ capacity: Int) {
        guard capacity * 2 > slots.count / 2 else { return }
        rehash(to: capacity)
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    subscript(key: UInt64) -> UInt64? {
        @inline(__always) get {
            slots.withUnsafeBufferPointer { t in
                let mask = t.count / 2 - 1
                var s = slot(key)
                while true {
                    let found = t[2 * s]
                    if found == key { return t[2 * s + 1] }
                    if found == Self.empty { return nil }
                    s = (s + 1) & mask
                }
            }
        }
        set {
            guard let newValue else { return }  // removal is never needed
            if (count + 1) * 2 > slots.count / 2 { rehash(to: count + 1) }
            let mask = slots.count / 2 - 1
            var s = slot(key)
            while slots[2 * s] != Self.empty && slots[2 * s] != key { s = (s + 1) & mask }
            if slots[2 * s] == Self.empty { count += 1 }
            slots[2 * s] = key
            slots[2 * s + 1] = newValue
        }
    }

    private mutating func rehash(to capacity: Int) {
        var bigger = PairTable(capacity: max(capacity, slots.count / 2))
        for s in 0..<(slots.count / 2) where slots[2 * s] != Self.empty {
            bigger[slots[2 * s]] = slots[2 * s + 1]
        }
        self = bigger
    }
}
