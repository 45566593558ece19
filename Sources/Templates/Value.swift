/// A runtime value inside the interpreter: Python's types as jinja2 templates see them, plus
/// jinja2's `Undefined`, `namespace` objects and callables (macros, globals, bound methods).
enum Value {
    enum Literal: Sendable {
        case none
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
    }

    /// A missing variable, key or attribute; `hint` says what was missing, for error messages.
    case undefined(hint: String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// A Python list or tuple (templates cannot mutate either, so one case serves both).
    case list([Value])
    /// A Python tuple (literals `(a, b)`, `items()` pairs): like a list, but prints as `(a, b)`.
    case tuple([Value])
    /// A one-pass Python iterator: what jinja2's `map`, `select`, `items`, `unique`, `batch` and `reverse`
    /// filters return. It iterates, but has no length or index, and is always true.
    case iterator(typeName: String, [Value])
    case dict(Dict)
    case namespace(Namespace)
    case callable(Callable)
    /// `loop` inside a for loop.
    case loop(LoopState)

    init(_ literal: Literal) {
        switch literal {
        case .none: self = .none
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .int(value)
        case .double(let value): self = .double(value)
        case .string(let value): self = .string(value)
        }
    }

    init(_ value: TemplateValue) {
        switch value {
        case .null: self = .none
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .int(value)
        case .double(let value): self = .double(value)
        case .string(let value): self = .string(value)
        case .array(let values): self = .list(values.map(Value.init))
        case .object(let object):
            var dict = Dict()
            for (key, value) in object.pairs { dict[key] = Value(value) }
            self = .dict(dict)
        }
    }

    /// The items of a list or tuple.
    var sequenceItems: [Value]? {
        switch self {
        case .list(let values), .tuple(let values): return values
        default: return nil
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's `type(x).__name__`, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .iterator(let typeName, _): return typeName
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .callable: return "function"
        case .loop: return "LoopContext"
        }
    }

    /// Python truthiness (`Undefined` is false).
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let value): return value
        case .int(let value): return value != 0
        case .double(let value): return value != 0
        case .string(let value): return !value.isEmpty
        case .list(let values), .tuple(let values): return !values.isEmpty
        case .dict(let dict): return dict.count > 0
        case .namespace, .callable, .loop, .iterator: return true
        }
    }

    /// A number as Double for mixed arithmetic (bool counts as int, as in Python).
    var numeric: Double? {
        switch self {
        case .bool(let value): return value ? 1 : 0
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// An integer (bool counts), for indices and integer arithmetic.
    var integer: Int? {
        switch self {
        case .bool(let value): return value ? 1 : 0
        case .int(let value): return value
        default: return nil
        }
    }
}

/// An insertion-ordered dictionary with string keys (template dicts and the JSON they come from).
struct Dict {
    private(set) var keys: [String] = []
    private var storage: [String: Value] = [:]

    var count: Int { keys.count }

    subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    var pairs: [(key: String, value: Value)] { keys.map { ($0, storage[$0]!) } }
    var values: [Value] { keys.map { storage[$0]! } }
}

/// `namespace(...)`: the one mutable object templates have, shared by reference so that
/// `{% set ns.x = ... %}` inside a loop is seen after it.
final class Namespace {
    var attributes = Dict()
}

/// Anything callable from a template: a macro, a global function, a method bound to its receiver.
struct Callable {
    var name: String
    var call: (_ arguments: Arguments, _ interpreter: inout Interpreter) throws(TemplateError) -> Value
}

/// Evaluated call arguments.
struct Arguments {
    var positional: [Value] = []
    var keyword: [(name: String, value: Value)] = []

    /// The argument at `position` or named `name`, if given.
    func value(_ position: Int, _ name: String) -> Value? {
        if position < positional.count { return positional[position] }
        return keyword.first { $0.name == name }?.value
    }
}

/// The state behind `loop.*` in a for loop.
final class LoopState {
    let items: [Value]
    var index0 = 0

    init(items: [Value]) { self.items = items }

    func attribute(_ name: String) -> Value? {
        let length = items.count
        switch name {
        case "index": return .int(index0 + 1)
        case "index0": return .int(index0)
        case "revindex": return .int(length - index0)
        case "revindex0": return .int(length - index0 - 1)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == length - 1)
        case "length": return .int(length)
        case "depth": return .int(1)
        case "depth0": return .int(0)
        case "previtem": return index0 > 0 ? items[index0 - 1] : .undefined(hint: "there is no previous item")
        case "nextitem":
            return index0 + 1 < length ? items[index0 + 1] : .undefined(hint: "there is no next item")
        default: return nil
        }
    }
}
