import Foundation

/// jinja2's global functions and tests, transformers' additions (`raise_exception`, `strftime_now`),
/// and the Python methods templates call on strings, dicts and lists.
enum Builtins {
    /// The globals of one render. `now` backs `strftime_now` (transformers uses the local clock).
    static func globals(now: Date) -> [String: Value] {
        [
            "raise_exception": .callable(
                Callable(name: "raise_exception") { (arguments, _) throws(TemplateError) in
                    // transformers: `raise TemplateError(message)`; the message is the template's, verbatim.
                    throw TemplateError(.raised, arguments.value(0, "message")?.pythonString ?? "")
                }),
            "strftime_now": .callable(
                Callable(name: "strftime_now") { (arguments, _) throws(TemplateError) in
                    guard case .string(let format) = arguments.value(0, "format") else {
                        throw TemplateError(.type, "strftime_now() takes a format string")
                    }
                    return .string(strftime(format, now))
                }),
            "namespace": .callable(
                Callable(name: "namespace") { (arguments, _) throws(TemplateError) in
                    let namespace = Namespace()
                    for value in arguments.positional {
                        guard case .dict(let dict) = value else {
                            throw TemplateError(.type, "namespace() positional arguments must be dicts")
                        }
                        for (key, item) in dict.pairs { namespace.attributes[key] = item }
                    }
                    for (key, value) in arguments.keyword { namespace.attributes[key] = value }
                    for key in namespace.attributes.keys { try checkNamespaceName(key, at: nil) }
                    return .namespace(namespace)
                }),
            "dict": .callable(
                Callable(name: "dict") { (arguments, _) throws(TemplateError) in
                    var dict = Dict()
                    if case .dict(let base) = arguments.positional.first {
                        for (key, item) in base.pairs { dict[key] = item }
                    }
                    for (key, value) in arguments.keyword { dict[key] = value }
                    return .dict(dict)
                }),
            "range": .callable(
                Callable(name: "range") { (arguments, _) throws(TemplateError) in
                    let bounds = arguments.positional.compactMap(\.integer)
                    guard bounds.count == arguments.positional.count, (1...3).contains(bounds.count) else {
                        throw TemplateError(.type, "range() takes one to three integers")
                    }
                    let start = bounds.count == 1 ? 0 : bounds[0]
                    let stop = bounds.count == 1 ? bounds[0] : bounds[1]
                    let step = bounds.count == 3 ? bounds[2] : 1
                    guard step != 0 else { throw TemplateError(.type, "range() arg 3 must not be zero") }
                    let count =
                        step > 0
                        ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
                    guard count <= 100_000 else {
                        throw TemplateError(.type, "range too big (sandbox limit)")
                    }
                    return .list(stride(from: start, to: stop, by: step).map(Value.int))
                }),
        ]
    }

    /// transformers' `TemplateNamespace` refuses underscore-prefixed attributes (sandbox hardening).
    static func checkNamespaceName(_ name: String, at location: SourceLocation?) throws(TemplateError) {
        guard name.hasPrefix("_") else { return }
        throw TemplateError(
            .type,
            "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(name)'. "
                + "Please rename the attribute.", line: location?.line, column: location?.column)
    }

    /// C `strftime` on local time, as Python's `datetime.now().strftime(format)` does.
    static func strftime(_ format: String, _ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&time, &parts)
        var buffer = [Int8](repeating: 0, count: 512)
        let count = Foundation.strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Tests (`x is name`)

    static func test(_ name: String, _ value: Value, _ arguments: Arguments, at location: SourceLocation)
        throws(TemplateError) -> Bool
    {
        let argument = arguments.value(0, "value") ?? .undefined(hint: "missing test argument")
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none":
            if case .none = value { return true }
            return false
        case "boolean":
            if case .bool = value { return true }
            return false
        case "true":
            if case .bool(true) = value { return true }
            return false
        case "false":
            if case .bool(false) = value { return true }
            return false
        case "integer":
            if case .int = value { return true }
            return false
        case "float":
            if case .double = value { return true }
            return false
        case "number": return value.numeric != nil
        case "string":
            if case .string = value { return true }
            return false
        case "mapping":
            if case .dict = value { return true }
            return false
        case "iterable":
            switch value {
            case .list, .tuple, .dict, .string, .undefined, .iterator: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .list, .tuple, .dict, .string, .undefined: return true
            default: return false
            }
        case "callable":
            switch value {
            case .callable, .undefined: return true  // jinja2's Undefined has a (raising) __call__
            default: return false
            }
        case "sameas":
            switch (value, argument) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            // CPython caches small ints, so `1 is 1` holds; templates only compare such literals.
            case (.int(let a), .int(let b)): return a == b && (-5...256).contains(a)
            case (.namespace(let a), .namespace(let b)): return a === b
            default: return false
            }
        case "eq", "equalto", "==": return Operators.equal(value, argument)
        case "ne", "!=": return !Operators.equal(value, argument)
        case "lt", "lessthan", "<": return try Operators.compare(value, argument, op: "<", at: location) < 0
        case "le", "<=": return try Operators.compare(value, argument, op: "<=", at: location) <= 0
        case "gt", "greaterthan", ">":
            return try Operators.compare(value, argument, op: ">", at: location) > 0
        case "ge", ">=": return try Operators.compare(value, argument, op: ">=", at: location) >= 0
        case "in": return try Operators.contains(argument, value, at: location)
        case "odd", "even", "divisibleby":
            guard let number = value.integer else {
                throw TemplateError(
                    .type, "the '\(name)' test needs an integer, not \(value.typeName)", at: location)
            }
            if name == "odd" { return abs(number % 2) == 1 }
            if name == "even" { return number % 2 == 0 }
            guard let divisor = argument.integer, divisor != 0 else {
                throw TemplateError(.type, "divisibleby needs a non-zero integer", at: location)
            }
            return number % divisor == 0
        case "lower":
            guard case .string(let string) = value else { return false }
            return string == PythonString.lower(string) && string != PythonString.upper(string)
        case "upper":
            guard case .string(let string) = value else { return false }
            return string == PythonString.upper(string) && string != PythonString.lower(string)
        case "escaped": return false
        case "filter":
            guard case .string(let filterName) = value else { return false }
            return filterNames.contains(filterName)
        case "test":
            guard case .string(let testName) = value else { return false }
            return testNames.contains(testName)
        default:
            throw TemplateError(.syntax, "no test named '\(name)'", at: location)
        }
    }

    static let testNames: Set<String> = [
        "defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number", "string",
        "mapping", "iterable", "sequence", "callable", "sameas", "eq", "equalto", "==", "ne", "!=", "lt",
        "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "odd", "even", "divisibleby",
        "lower", "upper", "escaped", "filter", "test",
    ]

    // MARK: Methods

    /// Calls a Python method on a receiver; `nil` when the receiver has no such method (the caller then
    /// treats `x.name` as an attribute, which for a dict is its item).
    static func callMethod(
        _ name: String, on receiver: Value, _ arguments: Arguments, at location: SourceLocation
    )
        throws(TemplateError) -> Value?
    {
        switch receiver {
        case .string(let string): return try stringMethod(name, string, arguments, at: location)
        case .dict(let dict):
            switch name {
            case "get":
                guard case .string(let key) = arguments.value(0, "key") else {
                    return arguments.value(1, "default") ?? Value.none
                }
                return dict[key] ?? arguments.value(1, "default") ?? Value.none
            case "items": return .list(dict.pairs.map { .tuple([.string($0.key), $0.value]) })
            case "keys": return .list(dict.keys.map(Value.string))
            case "values": return .list(dict.values)
            case "copy": return receiver
            case "pop", "popitem", "update", "setdefault", "clear":
                throw unsafe(name, receiver, at: location)
            default: return nil
            }
        case .list(let values), .tuple(let values):
            switch name {
            case "index":
                let target = arguments.value(0, "value") ?? Value.none
                guard let index = values.firstIndex(where: { Operators.equal($0, target) }) else {
                    throw TemplateError(.type, "\(target.pythonRepr) is not in list", at: location)
                }
                return .int(index)
            case "count":
                let target = arguments.value(0, "value") ?? Value.none
                return .int(values.filter { Operators.equal($0, target) }.count)
            case "copy": return receiver
            case "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse":
                throw unsafe(name, receiver, at: location)
            default: return nil
            }
        case .loop(let loop) where name == "cycle":
            guard !arguments.positional.isEmpty else {
                throw TemplateError(.type, "no items for cycling given", at: location)
            }
            return arguments.positional[loop.index0 % arguments.positional.count]
        default:
            return nil
        }
    }

    /// jinja2's `ImmutableSandboxedEnvironment` refuses methods that mutate lists and dicts.
    private static func unsafe(_ name: String, _ receiver: Value, at location: SourceLocation)
        -> TemplateError
    {
        TemplateError(
            .type, "access to attribute '\(name)' of '\(receiver.typeName)' object is unsafe.", at: location)
    }

    private static func stringArgument(_ arguments: Arguments, _ position: Int, _ name: String) -> String? {
        if case .string(let string) = arguments.value(position, name) { return string }
        return nil
    }

    private static func stringMethod(
        _ name: String, _ string: String, _ arguments: Arguments, at location: SourceLocation
    )
        throws(TemplateError) -> Value?
    {
        let first = stringArgument(arguments, 0, name == "split" || name == "rsplit" ? "sep" : "chars")
        switch name {
        case "strip": return .string(PythonString.strip(string, characters: first))
        case "lstrip": return .string(PythonString.strip(string, characters: first, trailing: false))
        case "rstrip": return .string(PythonString.strip(string, characters: first, leading: false))
        case "upper": return .string(PythonString.upper(string))
        case "lower": return .string(PythonString.lower(string))
        case "title": return .string(PythonString.title(string))
        case "capitalize": return .string(PythonString.capitalize(string))
        case "startswith", "endswith":
            let candidates: [Value]
            switch arguments.value(0, "prefix") {
            case .string(let prefix): candidates = [.string(prefix)]
            case .list(let values), .tuple(let values): candidates = values
            default:
                throw TemplateError(.type, "\(name) first arg must be str or a tuple of str", at: location)
            }
            let scalars = Array(string.unicodeScalars)
            return .bool(
                candidates.contains { candidate in
                    guard case .string(let affix) = candidate else { return false }
                    let affixScalars = Array(affix.unicodeScalars)
                    return name == "startswith"
                        ? scalars.starts(with: affixScalars)
                        : scalars.reversed().starts(with: affixScalars.reversed())
                })
        case "split", "rsplit":
            let maxSplit = arguments.value(1, "maxsplit")?.integer ?? -1
            let parts =
                name == "split"
                ? PythonString.split(string, separator: first, maxSplit: maxSplit)
                : PythonString.rsplit(string, separator: first, maxSplit: maxSplit)
            if first == "" { throw TemplateError(.type, "empty separator", at: location) }
            return .list(parts.map(Value.string))
        case "splitlines": return .list(PythonString.splitLines(string).map(Value.string))
        case "replace":
            guard let old = stringArgument(arguments, 0, "old"), let new = stringArgument(arguments, 1, "new")
            else {
                throw TemplateError(.type, "replace() takes two strings", at: location)
            }
            return .string(
                PythonString.replace(string, old, new, count: arguments.value(2, "count")?.integer ?? -1))
        case "find", "rfind", "index", "rindex":
            guard let needle = stringArgument(arguments, 0, "sub") else {
                throw TemplateError(.type, "\(name)() takes a string", at: location)
            }
            let found =
                name.hasSuffix("find") && name.hasPrefix("r") || name == "rindex"
                ? PythonString.rfind(Array(needle.unicodeScalars), in: Array(string.unicodeScalars))
                : PythonString.find(Array(needle.unicodeScalars), in: Array(string.unicodeScalars))
            if found == nil && name.hasSuffix("index") {
                throw TemplateError(.type, "substring not found", at: location)
            }
            return .int(found ?? -1)
        case "count":
            guard let needle = stringArgument(arguments, 0, "sub") else {
                throw TemplateError(.type, "count() takes a string", at: location)
            }
            return .int(PythonString.count(needle, in: string))
        case "join":
            guard let items = arguments.value(0, "iterable") else {
                throw TemplateError(.type, "join() takes a list", at: location)
            }
            let strings: [Value]
            switch items {
            case .list(let values), .tuple(let values), .iterator(_, let values): strings = values
            case .dict(let dict): strings = dict.keys.map(Value.string)
            default: throw TemplateError(.type, "can only join an iterable", at: location)
            }
            var parts: [String] = []
            for item in strings {
                guard case .string(let part) = item else {
                    throw TemplateError(
                        .type, "sequence item: expected str instance, \(item.typeName) found", at: location)
                }
                parts.append(part)
            }
            return .string(parts.joined(separator: string))
        case "isdigit", "isnumeric", "isdecimal":
            return .bool(
                !string.isEmpty && string.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
        case "isalpha":
            return .bool(!string.isEmpty && string.unicodeScalars.allSatisfy(\.properties.isAlphabetic))
        case "isspace":
            return .bool(!string.isEmpty && string.unicodeScalars.allSatisfy(PythonString.isWhitespace))
        case "islower":
            return try test("lower", .string(string), Arguments(), at: location) ? .bool(true) : .bool(false)
        case "isupper":
            return try test("upper", .string(string), Arguments(), at: location) ? .bool(true) : .bool(false)
        case "format": return .string(try format(string, arguments, at: location))
        default: return nil
        }
    }

    /// `str.format` with `{}`, `{0}` and `{name}` fields (no format specs).
    private static func format(_ template: String, _ arguments: Arguments, at location: SourceLocation)
        throws(TemplateError) -> String
    {
        var result = ""
        var automatic = 0
        var scalars = template.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            if scalar == "}" {
                _ = scalars.next()
                result += "}"
                continue
            }
            guard scalar == "{" else { result.unicodeScalars.append(scalar); continue }
            var field = ""
            while let next = scalars.next(), next != "}" {
                if next == "{" && field.isEmpty { result += "{"; field = "\u{0}"; break }
                field.unicodeScalars.append(next)
            }
            if field == "\u{0}" { continue }
            let value: Value?
            if field.isEmpty {
                value = automatic < arguments.positional.count ? arguments.positional[automatic] : nil
                automatic += 1
            } else if let index = Int(field) {
                value = index < arguments.positional.count ? arguments.positional[index] : nil
            } else {
                value = arguments.keyword.first { $0.name == field }?.value
            }
            guard let value else {
                throw TemplateError(.type, "format(): missing argument for {\(field)}", at: location)
            }
            result += value.pythonString
        }
        return result
    }
}
