import TensorCore

/// Draws items epoch by epoch: a fresh shuffle of all indices, taken in order, reshuffled when
/// used up, so every item is seen once per epoch. Deterministic in its seed; every rank of a
/// data-parallel run draws the same indices.
struct EpochSampler {
    let count: Int
    private var rng: RandomGenerator
    private var order: [Int] = []
    private var cursor = 0

    init(count: Int, seed: UInt64) {
        precondition(count > 0, "EpochSampler: nothing to draw from")
        self.count = count
        rng = RandomGenerator(seed: seed)
    }

    /// The next `n` indices.
    mutating func next(_ n: Int) -> [Int] {
        var picked: [Int] = []
        picked.reserveCapacity(n)
        while picked.count < n {
            if cursor == order.count {
                order = Array(0..<count).shuffled(using: &rng)
                cursor = 0
            }
            picked.append(order[cursor])
            cursor += 1
        }
        return picked
    }
}
