extension Interpreter {
    mutating func evaluate(_ expression: Expression, in scope: Scope) throws(TemplateError) -> Value {
        let at = expression.location
        switch expression.kind {
        case .literal(let literal):
            return Value(literal)
        case .name(let name):
            return scope.lookup(name) ?? .undefined(hint: "'\(name)' is undefined")
        case .list(let items), .tuple(let items):
            var values: [Value] = []
            for item in items { values.append(try evaluate(item, in: scope)) }
            if case .tuple = expression.kind { return .tuple(values) }
            return .list(values)
        case .dict(let pairs):
            var dict = Dict()
            for (keyExpression, valueExpression) in pairs {
                guard case .string(let key) = try evaluate(keyExpression, in: scope) else {
                    throw TemplateError(
                        .type, "dict literal keys must be strings", at: keyExpression.location)
                }
                dict[key] = try evaluate(valueExpression, in: scope)
            }
            return .dict(dict)
        case .attribute(let base, let name):
            return try attribute(name, of: try evaluate(base, in: scope), at: at)
        case .item(let base, let key):
            return try item(try evaluate(key, in: scope), of: try evaluate(base, in: scope), at: at)
        case .slice(let base, let start, let stop, let step):
            let value = try evaluate(base, in: scope)
            let bounds = try [start, stop, step].map { (part: Expression?) throws(TemplateError) -> Int? in
                guard let part else { return nil }
                let bound = try evaluate(part, in: scope)
                if case .none = bound { return nil }
                guard let integer = bound.integer else {
                    throw TemplateError(.type, "slice indices must be integers or None", at: part.location)
                }
                return integer
            }
            return try slice(value, start: bounds[0], stop: bounds[1], step: bounds[2], at: at)
        case .call(let callee, let argumentExpressions):
            let arguments = try evaluateArguments(argumentExpressions, in: scope)
            if case .attribute(let receiverExpression, let method) = callee.kind {
                let receiver = try evaluate(receiverExpression, in: scope)
                if let result = try Builtins.callMethod(method, on: receiver, arguments, at: at) {
                    return result
                }
                return try invoke(try attribute(method, of: receiver, at: callee.location), arguments, at: at)
            }
            return try invoke(try evaluate(callee, in: scope), arguments, at: at)
        case .filter(let base, let name, let arguments):
            return try applyFilter(name, to: try evaluate(base, in: scope), arguments, in: scope, at: at)
        case .test(let base, let name, let argumentExpressions, let negated):
            let value = try evaluate(base, in: scope)
            let arguments = try evaluateArguments(argumentExpressions, in: scope)
            let result = try Builtins.test(name, value, arguments, at: at)
            return .bool(negated ? !result : result)
        case .not(let operand):
            return .bool(!(try evaluate(operand, in: scope).isTruthy))
        case .negate(let operand):
            let value = try evaluate(operand, in: scope)
            switch value {
            case .int(let int): return .int(-int)
            case .bool(let bool): return .int(bool ? -1 : 0)
            case .double(let double): return .double(-double)
            default: throw operandError("-", value, at: at)
            }
        case .plus(let operand):
            let value = try evaluate(operand, in: scope)
            guard value.numeric != nil else { throw operandError("+", value, at: at) }
            if case .bool(let bool) = value { return .int(bool ? 1 : 0) }
            return value
        case .and(let left, let right):
            let value = try evaluate(left, in: scope)
            return value.isTruthy ? try evaluate(right, in: scope) : value
        case .or(let left, let right):
            let value = try evaluate(left, in: scope)
            return value.isTruthy ? value : try evaluate(right, in: scope)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition, in: scope).isTruthy { return try evaluate(then, in: scope) }
            guard let otherwise else { return .undefined(hint: "the inline if expression has no else") }
            return try evaluate(otherwise, in: scope)
        case .binary(let op, let left, let right):
            return try Operators.apply(
                op, try evaluate(left, in: scope), try evaluate(right, in: scope), at: at)
        }
    }

    mutating func evaluateArguments(_ expressions: [Argument], in scope: Scope) throws(TemplateError)
        -> Arguments
    {
        var arguments = Arguments()
        for argument in expressions {
            let value = try evaluate(argument.value, in: scope)
            switch argument.unpacking {
            case .positional:
                arguments.positional += try iterate(value, at: argument.value.location)
                continue
            case .keyword:
                guard case .dict(let dict) = value else {
                    throw TemplateError(
                        .type, "argument after ** must be a mapping", at: argument.value.location)
                }
                arguments.keyword += dict.pairs.map { ($0.key, $0.value) }
                continue
            case .none:
                break
            }
            if let name = argument.name {
                arguments.keyword.append((name, value))
            } else {
                arguments.positional.append(value)
            }
        }
        return arguments
    }

    mutating func invoke(_ callee: Value, _ arguments: Arguments, at location: SourceLocation)
        throws(TemplateError)
        -> Value
    {
        switch callee {
        case .callable(let callable):
            do {
                return try callable.call(arguments, &self)
            } catch var error {
                if error.line == nil { error.line = location.line; error.column = location.column }
                throw error
            }
        case .undefined(let hint):
            throw TemplateError(.undefined, hint, at: location)
        default:
            throw TemplateError(.type, "'\(callee.typeName)' object is not callable", at: location)
        }
    }

    mutating func applyFilter(
        _ name: String, to value: Value, _ argumentExpressions: [Argument], in scope: Scope,
        at location: SourceLocation
    ) throws(TemplateError) -> Value {
        let arguments = try evaluateArguments(argumentExpressions, in: scope)
        do {
            return try Builtins.filter(name, value, arguments, interpreter: &self, at: location)
        } catch var error {
            if error.line == nil { error.line = location.line; error.column = location.column }
            throw error
        }
    }

    /// `x.name`: jinja2 tries the Python attribute first, then the item.
    func attribute(_ name: String, of value: Value, at location: SourceLocation) throws(TemplateError)
        -> Value
    {
        switch value {
        case .undefined(let hint):
            throw TemplateError(.undefined, hint, at: location)
        case .dict(let dict):
            return dict[name] ?? .undefined(hint: "'dict object' has no attribute '\(name)'")
        case .namespace(let namespace):
            return namespace.attributes[name]
                ?? .undefined(hint: "'Namespace' object has no attribute '\(name)'")
        case .loop(let loop):
            return loop.attribute(name) ?? .undefined(hint: "'LoopContext' object has no attribute '\(name)'")
        default:
            return .undefined(hint: "'\(value.typeName) object' has no attribute '\(name)'")
        }
    }

    /// `x[key]`: the item, or `Undefined` when missing (jinja2's `getitem`).
    func item(_ key: Value, of value: Value, at location: SourceLocation) throws(TemplateError) -> Value {
        switch (value, key) {
        case (.undefined(let hint), _):
            throw TemplateError(.undefined, hint, at: location)
        case (.dict(let dict), .string(let name)):
            return dict[name] ?? .undefined(hint: "'dict object' has no attribute '\(name)'")
        case (.list(let values), _), (.tuple(let values), _):
            guard let index = key.integer else {
                if case .string(let name) = key { return try attribute(name, of: value, at: location) }
                throw TemplateError(.type, "list indices must be integers, not \(key.typeName)", at: location)
            }
            let resolved = index < 0 ? index + values.count : index
            guard values.indices.contains(resolved) else {
                return .undefined(hint: "'list object' has no element \(index)")
            }
            return values[resolved]
        case (.string(let string), _):
            guard let index = key.integer else {
                if case .string(let name) = key { return try attribute(name, of: value, at: location) }
                throw TemplateError(.type, "string indices must be integers", at: location)
            }
            let scalars = Array(string.unicodeScalars)
            let resolved = index < 0 ? index + scalars.count : index
            guard scalars.indices.contains(resolved) else {
                return .undefined(hint: "'str object' has no element \(index)")
            }
            return .string(String(scalars[resolved]))
        case (_, .string(let name)):
            return try attribute(name, of: value, at: location)
        default:
            return .undefined(hint: "'\(value.typeName) object' has no element \(key.pythonRepr)")
        }
    }

    /// Python slicing of lists and strings (code points).
    func slice(_ value: Value, start: Int?, stop: Int?, step: Int?, at location: SourceLocation)
        throws(TemplateError)
        -> Value
    {
        let step = step ?? 1
        guard step != 0 else { throw TemplateError(.type, "slice step cannot be zero", at: location) }
        func indices(_ count: Int) -> [Int] {
            func clamp(_ bound: Int?, _ fallback: Int, low: Int, high: Int) -> Int {
                guard var bound else { return fallback }
                if bound < 0 { bound += count }
                return min(max(bound, low), high)
            }
            if step > 0 {
                let from = clamp(start, 0, low: 0, high: count)
                let to = clamp(stop, count, low: 0, high: count)
                return Array(stride(from: from, to: to, by: step))
            }
            let from = clamp(start, count - 1, low: -1, high: count - 1)
            let to = clamp(stop, -1, low: -1, high: count - 1)
            return Array(stride(from: from, to: to, by: step))
        }
        switch value {
        case .list(let values):
            return .list(indices(values.count).map { values[$0] })
        case .tuple(let values):
            return .tuple(indices(values.count).map { values[$0] })
        case .string(let string):
            let scalars = Array(string.unicodeScalars)
            return .string(PythonString.string(indices(scalars.count).map { scalars[$0] }))
        case .undefined(let hint):
            throw TemplateError(.undefined, hint, at: location)
        default:
            throw TemplateError(.type, "'\(value.typeName)' object is not subscriptable", at: location)
        }
    }

    func operandError(_ op: String, _ value: Value, at location: SourceLocation) -> TemplateError {
        if case .undefined(let hint) = value { return TemplateError(.undefined, hint, at: location) }
        return TemplateError(.type, "bad operand type for unary \(op): '\(value.typeName)'", at: location)
    }
}
