import Foundation

/// jinja2's built-in filters that chat templates use, with transformers' `tojson` override.
extension Builtins {
    static let filterNames: Set<String> = [
        "abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first",
        "float",
        "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
        "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort",
        "string",
        "sum", "title", "tojson", "trim", "unique", "upper", "wordcount",
    ]

    static func filter(
        _ name: String, _ value: Value, _ arguments: Arguments, interpreter: inout Interpreter,
        at location: SourceLocation
    ) throws(TemplateError) -> Value {
        func argument(_ position: Int, _ keyword: String) -> Value? { arguments.value(position, keyword) }
        func stringInput() throws(TemplateError) -> String {
            if case .undefined = value { return "" }
            return value.pythonString
        }
        func items() throws(TemplateError) -> [Value] { try interpreter.iterate(value, at: location) }

        // These jinja2 filters convert their input in a way that raises on `Undefined`.
        if case .undefined(let hint) = value, ["int", "float", "indent", "dictsort"].contains(name) {
            throw TemplateError(.undefined, hint, at: location)
        }
        switch name {
        case "abs":
            switch value {
            case .int(let int): return .int(abs(int))
            case .bool(let bool): return .int(bool ? 1 : 0)
            case .double(let double): return .double(abs(double))
            default:
                throw TemplateError(.type, "bad operand type for abs(): '\(value.typeName)'", at: location)
            }
        case "attr":
            guard case .string(let attribute) = argument(0, "name") else {
                return .undefined(hint: "attr() needs a name")
            }
            return try interpreter.attribute(attribute, of: value, at: location)
        case "batch":
            guard let size = argument(0, "linecount")?.integer, size > 0 else {
                throw TemplateError(.type, "batch() needs a positive size", at: location)
            }
            let fill = argument(1, "fill_with")
            var batches: [Value] = []
            var current: [Value] = []
            for item in try items() {
                current.append(item)
                if current.count == size { batches.append(.list(current)); current = [] }
            }
            if !current.isEmpty {
                if let fill, !(fill.isUndefined) {
                    if case .none = fill {
                    } else {
                        current += Array(repeating: fill, count: size - current.count)
                    }
                }
                batches.append(.list(current))
            }
            return .iterator(typeName: "generator", batches)
        case "capitalize": return .string(PythonString.capitalize(try stringInput()))
        case "count", "length":
            switch value {
            case .string(let string): return .int(string.unicodeScalars.count)
            case .list(let values), .tuple(let values): return .int(values.count)
            case .dict(let dict): return .int(dict.count)
            case .undefined: return .int(0)
            default:
                throw TemplateError(.type, "object of type '\(value.typeName)' has no len()", at: location)
            }
        case "d", "default":
            let fallback = argument(0, "default_value") ?? .string("")
            let boolean = argument(1, "boolean")?.isTruthy ?? false
            return value.isUndefined || (boolean && !value.isTruthy) ? fallback : value
        case "dictsort":
            guard case .dict(let dict) = value else {
                throw TemplateError(.type, "dictsort() needs a dict, not \(value.typeName)", at: location)
            }
            let caseSensitive = argument(0, "case_sensitive")?.isTruthy ?? false
            let byValue = argument(1, "by")?.pythonString == "value"
            let reverse = argument(2, "reverse")?.isTruthy ?? false
            var pairs = dict.pairs.map { (key: Value.string($0.key), value: $0.value) }
            try sort(
                &pairs, key: { byValue ? $0.value : $0.key }, caseSensitive: caseSensitive,
                descending: reverse,
                at: location)
            return .list(pairs.map { .tuple([$0.key, $0.value]) })
        case "e", "escape":
            if case .undefined = value { return .string("") }
            return .string(htmlEscape(value.pythonString))
        case "first":
            if case .dict(let dict) = value {
                return dict.keys.first.map(Value.string) ?? .undefined(hint: "No first item")
            }
            return try items().first ?? .undefined(hint: "No first item, sequence was empty.")
        case "last":
            if case .iterator(let typeName, _) = value, typeName != "reversed" {
                throw TemplateError(.type, "'\(typeName)' object is not reversible", at: location)
            }
            if case .dict = value {
                throw TemplateError(.type, "'dict' object is not reversible", at: location)
            }
            return try items().last ?? .undefined(hint: "No last item, sequence was empty.")
        case "float":
            let fallback = argument(0, "default") ?? .double(0)
            switch value {
            case .double: return value
            case .int(let int): return .double(Double(int))
            case .bool(let bool): return .double(bool ? 1 : 0)
            case .string(let string):
                return Double(PythonString.strip(string, characters: nil).filter { $0 != "_" }).map(
                    Value.double) ?? fallback
            default: return fallback
            }
        case "format":
            return .string(try percentFormat(try stringInput(), arguments, at: location))
        case "indent":
            return .string(
                indent(
                    try stringInput(), width: argument(0, "width") ?? .int(4),
                    first: argument(1, "first")?.isTruthy ?? false,
                    blank: argument(2, "blank")?.isTruthy ?? false))
        case "int":
            let fallback = argument(0, "default") ?? .int(0)
            switch value {
            case .int: return value
            case .bool(let bool): return .int(bool ? 1 : 0)
            case .double(let double):
                guard double.isFinite else { return fallback }
                return .int(Int(double.rounded(.towardZero)))
            case .string(let string):
                let text = PythonString.strip(string, characters: nil).filter { $0 != "_" }
                let base = argument(1, "base")?.integer ?? 10
                if let int = Int(text, radix: base) { return .int(int) }
                if let double = Double(text), double.isFinite {
                    return .int(Int(double.rounded(.towardZero)))
                }
                return fallback
            default: return fallback
            }
        case "items":
            switch value {
            case .dict(let dict):
                return .iterator(
                    typeName: "generator", dict.pairs.map { .tuple([.string($0.key), $0.value]) })
            case .undefined: return .iterator(typeName: "generator", [])
            default:
                throw TemplateError(.type, "items() needs a mapping, not \(value.typeName)", at: location)
            }
        case "join":
            var values = try items()
            if case .string(let attribute) = argument(1, "attribute") {
                values = try values.map { (item: Value) throws(TemplateError) -> Value in
                    try lookup(attribute, in: item, interpreter: interpreter, at: location)
                }
            }
            let separator = argument(0, "d")?.pythonString ?? ""
            return .string(values.map(\.pythonString).joined(separator: separator))
        case "list":
            return .list(try items())
        case "lower": return .string(PythonString.lower(try stringInput()))
        case "upper": return .string(PythonString.upper(try stringInput()))
        case "title": return .string(PythonString.jinjaTitle(try stringInput()))
        case "trim":
            return .string(
                PythonString.strip(try stringInput(), characters: argument(0, "chars")?.stringOrNil))
        case "replace":
            guard let old = argument(0, "old")?.stringOrNil, let new = argument(1, "new")?.stringOrNil else {
                throw TemplateError(.type, "replace() takes two strings", at: location)
            }
            return .string(
                PythonString.replace(try stringInput(), old, new, count: argument(2, "count")?.integer ?? -1))
        case "map":
            let values = try items()
            if case .string(let attribute) = arguments.keyword.first(where: { $0.name == "attribute" })?.value
            {
                let fallback = arguments.keyword.first { $0.name == "default" }?.value
                return .iterator(
                    typeName: "generator",
                    try values.map { (item: Value) throws(TemplateError) -> Value in
                        let found = try lookup(attribute, in: item, interpreter: interpreter, at: location)
                        if found.isUndefined, let fallback { return fallback }
                        return found
                    })
            }
            guard case .string(let filterName) = arguments.positional.first else {
                throw TemplateError(.type, "map() needs a filter name or attribute=", at: location)
            }
            let rest = Arguments(
                positional: Array(arguments.positional.dropFirst()), keyword: arguments.keyword)
            var mapped: [Value] = []
            for item in values {
                mapped.append(try filter(filterName, item, rest, interpreter: &interpreter, at: location))
            }
            return .iterator(typeName: "generator", mapped)
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var positional = arguments.positional
            var attribute: String?
            if byAttribute {
                guard case .string(let attributeName) = positional.first else {
                    throw TemplateError(.type, "\(name)() needs an attribute name", at: location)
                }
                attribute = attributeName
                positional.removeFirst()
            }
            let testName = positional.first?.stringOrNil
            let testArguments = Arguments(
                positional: Array(positional.dropFirst()), keyword: arguments.keyword)
            var result: [Value] = []
            for item in try items() {
                let subject =
                    try attribute.map { (attribute: String) throws(TemplateError) -> Value in
                        try lookup(attribute, in: item, interpreter: interpreter, at: location)
                    } ?? item
                let passes =
                    try testName.map { (testName: String) throws(TemplateError) -> Bool in
                        try test(testName, subject, testArguments, at: location)
                    } ?? subject.isTruthy
                if passes == keep { result.append(item) }
            }
            return .iterator(typeName: "generator", result)
        case "max", "min", "sort", "unique":
            var values = try items()
            // sort(reverse, case_sensitive, attribute); unique/min/max(case_sensitive, attribute).
            let offset = name == "sort" ? 1 : 0
            let caseSensitive = argument(offset, "case_sensitive")?.isTruthy ?? false
            let attribute = argument(offset + 1, "attribute")?.stringOrNil
            let reader = interpreter
            let key = { (item: Value) throws(TemplateError) -> Value in
                guard let attribute else { return item }
                return try lookup(attribute, in: item, interpreter: reader, at: location)
            }
            if name == "unique" {
                var seen: [Value] = []
                var result: [Value] = []
                for item in values {
                    let identity = fold(try key(item), caseSensitive: caseSensitive)
                    if !seen.contains(where: { Operators.equal($0, identity) }) {
                        seen.append(identity)
                        result.append(item)
                    }
                }
                return .iterator(typeName: "generator", result)
            }
            var keyed: [(key: Value, value: Value)] = []
            for item in values { keyed.append((try key(item), item)) }
            // Python's sort is stable also when reversed, and max() returns the first of equal maxima.
            let descending = name == "max" || (name == "sort" && (argument(0, "reverse")?.isTruthy ?? false))
            try sort(
                &keyed, key: { $0.key }, caseSensitive: caseSensitive, descending: descending, at: location)
            values = keyed.map(\.value)
            if name == "sort" { return .list(values) }
            return values.first ?? .undefined(hint: "No aggregated item, sequence was empty.")
        case "reverse":
            if case .string(let string) = value {
                return .string(PythonString.string(string.unicodeScalars.reversed()))
            }
            return .iterator(typeName: "reversed", try items().reversed())
        case "round":
            let precision = argument(0, "precision")?.integer ?? 0
            let method = argument(1, "method")?.pythonString ?? "common"
            guard let number = value.numeric else {
                throw TemplateError(.type, "round() needs a number, not \(value.typeName)", at: location)
            }
            let scale = pow(10, Double(precision))
            let rule: FloatingPointRoundingRule =
                method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrEven
            if case .int = value, method == "common" { return value }
            return .double((number * scale).rounded(rule) / scale)
        case "safe": return value
        case "string": return .string(try stringInput())
        case "sum":
            var total: Value = argument(1, "start") ?? .int(0)
            let attribute = argument(0, "attribute")?.stringOrNil
            for item in try items() {
                let addend =
                    try attribute.map { (attribute: String) throws(TemplateError) -> Value in
                        try lookup(attribute, in: item, interpreter: interpreter, at: location)
                    } ?? item
                total = try Operators.apply(.add, total, addend, at: location)
            }
            return total
        case "tojson":
            return .string(try value.json(try jsonOptions(arguments, at: location)))
        case "wordcount":
            return .int(PythonString.split(try stringInput(), separator: nil).count)
        default:
            throw TemplateError(.syntax, "no filter named '\(name)'", at: location)
        }
    }

    /// transformers' `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
    private static func jsonOptions(_ arguments: Arguments, at location: SourceLocation) throws(TemplateError)
        -> JSONOptions
    {
        var options = JSONOptions()
        options.ensureASCII = arguments.value(0, "ensure_ascii")?.isTruthy ?? false
        switch arguments.value(1, "indent") {
        case .int(let spaces): options.indent = String(repeating: " ", count: max(0, spaces))
        case .string(let string): options.indent = string
        case .some(.none), nil: break
        case let other?:
            throw TemplateError(
                .type, "tojson indent must be an int or a string, not \(other.typeName)", at: location)
        }
        switch arguments.value(2, "separators") {
        case .list(let parts) where parts.count == 2, .tuple(let parts) where parts.count == 2:
            options.itemSeparator = parts[0].pythonString
            options.keySeparator = parts[1].pythonString
        case .some(.none), nil: break
        default: throw TemplateError(.type, "tojson separators must be a pair of strings", at: location)
        }
        options.sortKeys = arguments.value(3, "sort_keys")?.isTruthy ?? false
        return options
    }

    /// jinja2's attribute/item lookup for `map(attribute=)`, `selectattr` and friends: dotted paths,
    /// integer parts.
    private static func lookup(
        _ path: String, in value: Value, interpreter: Interpreter, at location: SourceLocation
    )
        throws(TemplateError) -> Value
    {
        var current = value
        for part in path.split(separator: ".") {
            let key: Value = Int(part).map(Value.int) ?? .string(String(part))
            if current.isUndefined { return current }
            current = try interpreter.item(key, of: current, at: location)
        }
        return current
    }

    private static func fold(_ value: Value, caseSensitive: Bool) -> Value {
        if !caseSensitive, case .string(let string) = value { return .string(PythonString.lower(string)) }
        return value
    }

    /// A stable sort by `key`, strings compared case-insensitively unless `caseSensitive` (jinja2's default).
    private static func sort<Element>(
        _ elements: inout [Element], key: (Element) -> Value, caseSensitive: Bool, descending: Bool = false,
        at location: SourceLocation
    ) throws(TemplateError) {
        var failure: TemplateError?
        let indexed = elements.enumerated().map { ($0.offset, $0.element) }
        let sorted = indexed.sorted { a, b in
            let left = fold(key(a.1), caseSensitive: caseSensitive)
            let right = fold(key(b.1), caseSensitive: caseSensitive)
            // Equal values need no ordering (CPython sorts [None, None] without comparing them).
            if Operators.equal(left, right) { return a.0 < b.0 }
            do {
                let order = try Operators.compare(left, right, op: "<", at: location)
                return order != 0 ? (descending ? order > 0 : order < 0) : a.0 < b.0
            } catch {
                failure = error as? TemplateError
                return a.0 < b.0
            }
        }
        if let failure { throw failure }
        elements = sorted.map(\.1)
    }

    static func htmlEscape(_ string: String) -> String {
        var result = ""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&#34;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// jinja2's `indent` filter, including its quirk of appending a newline before `splitlines`.
    private static func indent(_ string: String, width: Value, first: Bool, blank: Bool) -> String {
        let indention: String
        if case .string(let text) = width {
            indention = text
        } else {
            indention = String(repeating: " ", count: max(0, width.integer ?? 4))
        }
        let lines = PythonString.splitLines(string + "\n")
        var result: String
        if blank {
            result = lines.joined(separator: "\n" + indention)
        } else {
            result = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty {
                result += "\n" + rest.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n")
            }
        }
        return first ? indention + result : result
    }

    /// Python's `str % args` for the `format` filter: `%s`, `%r`, `%d`/`%i`, `%f`, `%%`.
    private static func percentFormat(_ template: String, _ arguments: Arguments, at location: SourceLocation)
        throws(TemplateError) -> String
    {
        var result = ""
        var next = 0
        var scalars = template.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == "%" else { result.unicodeScalars.append(scalar); continue }
            guard let conversion = scalars.next() else {
                throw TemplateError(.type, "incomplete format", at: location)
            }
            if conversion == "%" { result += "%"; continue }
            guard next < arguments.positional.count else {
                throw TemplateError(.type, "not enough arguments for format string", at: location)
            }
            let value = arguments.positional[next]
            next += 1
            switch conversion {
            case "s": result += value.pythonString
            case "r": result += value.pythonRepr
            case "d", "i":
                guard let number = value.numeric else {
                    throw TemplateError(.type, "%d format: a number is required", at: location)
                }
                result += String(Int(number.rounded(.towardZero)))
            case "f":
                guard let number = value.numeric else {
                    throw TemplateError(.type, "%f format: a number is required", at: location)
                }
                result += String(format: "%f", number)
            default: throw TemplateError(.type, "unsupported format character '\(conversion)'", at: location)
            }
        }
        return result
    }
}

extension Value {
    var stringOrNil: String? {
        if case .string(let string) = self { return string }
        return nil
    }
}
