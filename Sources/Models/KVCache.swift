import TensorCore

/// Keys and values of every layer for a batch of sequences being generated.
/// Layer l holds keys and values (rows, capacity, kvHeads·D); row r's first `lengths[r]`
/// positions are filled.
struct KVCache {
    var keys: [Tensor]
    var values: [Tensor]
    var lengths: [Int]
    let capacity: Int

    init(layers: Int, rows: Int, capacity: Int, width: Int) {
        keys = Array(repeating: Tensor(shape: [rows, capacity, width]), count: layers)
        values = keys
        lengths = Array(repeating: 0, count: rows)
        self.capacity = capacity
    }
}
