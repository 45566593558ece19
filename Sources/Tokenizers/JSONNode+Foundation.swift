import Foundation
import OrderedJSON

extension JSONNode {
    /// Foundation values (`[String: Any]`, `[Any]`, `String`, `NSNumber`, `Bool`, `NSNull`) for
    /// the small component objects of `tokenizer.json`; the vocabulary and merges are read from
    /// the node itself, as exact bytes.
    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .integer(let i): return NSNumber(value: i)
        case .number(let x): return NSNumber(value: x)
        case .string(let s): return String(decoding: s, as: UTF8.self)
        case .array(let items): return items.map(\.foundation)
        case .object(let members):
            var out: [String: Any] = [:]
            for (k, v) in members { out[String(decoding: k, as: UTF8.self)] = v.foundation }
            return out
        }
    }
}
