/// How values print: Python's `str()` (what `{{ x }}` and `~` produce), `repr()` (inside
/// containers) and `json.dumps` (transformers' `tojson` filter).
extension Value {
    /// Python's `str(x)`; jinja2 prints `Undefined` as the empty string and `None` as `None`.
    var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let string): return string
        default: return pythonRepr
        }
    }

    /// Python's `repr(x)`.
    var pythonRepr: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let value): return value ? "True" : "False"
        case .int(let value): return String(value)
        case .double(let value): return PythonString.repr(value)
        case .string(let value): return PythonString.repr(value)
        case .list(let values): return "[" + values.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .tuple(let values):
            return "(" + values.map(\.pythonRepr).joined(separator: ", ") + (values.count == 1 ? ",)" : ")")
        case .dict(let dict):
            return "{"
                + dict.pairs.map { PythonString.repr($0.key) + ": " + $0.value.pythonRepr }
                .joined(separator: ", ") + "}"
        case .namespace(let namespace):
            return "<Namespace " + Value.dict(namespace.attributes).pythonRepr + ">"
        case .callable(let callable): return "<function \(callable.name)>"
        case .iterator(let typeName, _): return "<\(typeName) object>"
        case .loop: return "<LoopContext>"
        }
    }
}

/// Options of `json.dumps` as transformers' `tojson(x, ensure_ascii=False, indent=None, separators=None,
/// sort_keys=False)` passes them.
struct JSONOptions {
    var ensureASCII = false
    /// `nil`: one line; otherwise the string repeated per nesting level (an int n means n spaces).
    var indent: String?
    var itemSeparator: String?
    var keySeparator: String?
    var sortKeys = false
}

extension Value {
    func json(_ options: JSONOptions, level: Int = 0) throws(TemplateError) -> String {
        // Python's defaults: (', ', ': ') on one line, (',', ': ') when indenting.
        let itemSeparator = options.itemSeparator ?? (options.indent == nil ? ", " : ",")
        let keySeparator = options.keySeparator ?? ": "
        func wrap(_ open: String, _ items: [String], _ close: String) -> String {
            guard !items.isEmpty else { return open + close }
            guard let indent = options.indent else {
                return open + items.joined(separator: itemSeparator) + close
            }
            let inner = "\n" + String(repeating: indent, count: level + 1)
            let outer = "\n" + String(repeating: indent, count: level)
            return open + inner + items.joined(separator: itemSeparator + inner) + outer + close
        }
        switch self {
        case .none: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value):
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
            return PythonString.repr(value)
        case .string(let value): return Value.jsonString(value, ensureASCII: options.ensureASCII)
        case .list(let values), .tuple(let values):
            var items: [String] = []
            for value in values { items.append(try value.json(options, level: level + 1)) }
            return wrap("[", items, "]")
        case .dict(let dict):
            var pairs = dict.pairs
            if options.sortKeys {
                pairs.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
            }
            var items: [String] = []
            for (key, value) in pairs {
                items.append(
                    Value.jsonString(key, ensureASCII: options.ensureASCII) + keySeparator
                        + (try value.json(options, level: level + 1)))
            }
            return wrap("{", items, "}")
        case .namespace, .callable, .loop, .undefined, .iterator:
            throw TemplateError(.type, "Object of type \(typeName) is not JSON serializable")
        }
    }

    static func jsonString(_ string: String, ensureASCII: Bool) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            default:
                if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) {
                    if scalar.value > 0xFFFF {
                        let offset = scalar.value - 0x10000
                        result += "\\u" + PythonString.hex(0xD800 + (offset >> 10), width: 4)
                        result += "\\u" + PythonString.hex(0xDC00 + (offset & 0x3FF), width: 4)
                    } else {
                        result += "\\u" + PythonString.hex(scalar.value, width: 4)
                    }
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
