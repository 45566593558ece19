/// An open-addressing hash table from short byte strings to `Int64`, for the hot paths of the
/// tokenizer: the vocabulary (bytes → id), the per-call encoding cache (piece → token span) and
/// the trainer's word counts (piece → count).
///
/// Keys live back to back in one byte arena, so inserting a piece does not allocate an array
/// per key, and lookups compare bytes in place. Capacity doubles at 50% load.
///
/// A value type (arrays inside), so lookups need no dynamic exclusivity checks and a table
/// is `Sendable`: the vocabulary is shared read-only, caches and counts are owned by one thread.
struct ByteStringTable: Sendable {
    private(set) var arena: [UInt8] = []
    private(set) var keyStart: [Int] = []
    private(set) var keyLength: [Int32] = []
    private var keyHash: [UInt64] = []
    private(set) var values: [Int64] = []
    /// Per slot: the high 32 bits of the key's hash (a tag that rejects most mismatches
    /// without touching the entry) and entry index + 1 in the low 32 bits; 0 is empty.
    private var slots: [UInt64]
    private var mask: Int

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    var count: Int { values.count }

    /// A fast 64-bit hash of `p[0..<n]`: eight bytes at a time through a multiply–xorshift mix.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(truncatingIfNeeded: n)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ w) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 29
        }
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// The entry index of the key, or -1.
    @inline(__always)
    func find(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64) -> Int {
        var slot = Int(truncatingIfNeeded: h) & mask
        let tag = h & 0xFFFF_FFFF_0000_0000
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let s = slots[slot]
                if s == 0 { return -1 }
                if s & 0xFFFF_FFFF_0000_0000 == tag {
                    let e = Int(s & 0xFFFF_FFFF) - 1
                    if Int(keyLength[e]) == n {
                        let start = keyStart[e]
                        let equal = arena.withUnsafeBufferPointer { a in
                            memoryEqual(a.baseAddress! + start, p, n)
                        }
                        if equal { return e }
                    }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    @inline(__always)
    private func memoryEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i + 8 <= n {
            if UnsafeRawPointer(a).loadUnaligned(fromByteOffset: i, as: UInt64.self)
                != UnsafeRawPointer(b).loadUnaligned(fromByteOffset: i, as: UInt64.self)
            {
                return false
            }
            i += 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// Inserts a key known to be absent; returns its entry index.
    @discardableResult
    mutating func insert(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, value: Int64) -> Int {
        if (values.count + 1) * 2 > slots.count { grow() }
        let e = values.count
        keyStart.append(arena.count)
        keyLength.append(Int32(n))
        keyHash.append(h)
        values.append(value)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        place(e, hash: h)
        return e
    }

    /// Adds `amount` to the key's value, inserting it with `amount` if absent.
    @inline(__always)
    mutating func add(_ p: UnsafePointer<UInt8>, _ n: Int, amount: Int64) {
        let h = Self.hash(p, n)
        let e = find(p, n, hash: h)
        if e >= 0 {
            values[e] += amount
        } else {
            insert(p, n, hash: h, value: amount)
        }
    }

    mutating func setValue(_ value: Int64, at entry: Int) { values[entry] = value }

    func key(at entry: Int) -> ArraySlice<UInt8> {
        let start = keyStart[entry]
        return arena[start..<(start + Int(keyLength[entry]))]
    }

    /// Calls `body` with every key and value, in insertion order.
    func forEach(_ body: (UnsafeBufferPointer<UInt8>, Int64) -> Void) {
        arena.withUnsafeBufferPointer { a in
            for e in 0..<values.count {
                let start = keyStart[e]
                body(UnsafeBufferPointer(rebasing: a[start..<(start + Int(keyLength[e]))]), values[e])
            }
        }
    }

    /// Empties the table, keeping its capacity.
    mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        keyStart.removeAll(keepingCapacity: true)
        keyLength.removeAll(keepingCapacity: true)
        keyHash.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = 0 }
    }

    private mutating func place(_ e: Int, hash h: UInt64) {
        var slot = Int(truncatingIfNeeded: h) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(e + 1)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for e in 0..<values.count { place(e, hash: keyHash[e]) }
    }
}
