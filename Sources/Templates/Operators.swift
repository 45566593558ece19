import Foundation

/// Binary operators with Python's semantics (int/float promotion, `/` always float, floor `//` and `%`,
/// `str * int`, list concatenation, chained comparison handled by the parser).
enum Operators {
    static func apply(_ op: BinaryOperator, _ left: Value, _ right: Value, at location: SourceLocation)
        throws(TemplateError) -> Value
    {
        switch op {
        case .concat: return .string(left.pythonString + right.pythonString)
        case .equal: return .bool(equal(left, right))
        case .notEqual: return .bool(!equal(left, right))
        case .contains: return .bool(try contains(right, left, at: location))
        case .notContains: return .bool(!(try contains(right, left, at: location)))
        case .less, .lessEqual, .greater, .greaterEqual:
            let order = try compare(left, right, op: op.rawValue, at: location)
            switch op {
            case .less: return .bool(order < 0)
            case .lessEqual: return .bool(order <= 0)
            case .greater: return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        default:
            return try arithmetic(op, left, right, at: location)
        }
    }

    static func equal(_ left: Value, _ right: Value) -> Bool {
        switch (left, right) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.dict(let a), .dict(let b)):
            return a.count == b.count
                && a.pairs.allSatisfy { pair in b[pair.key].map { equal(pair.value, $0) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        default:
            if let a = left.integer, let b = right.integer { return a == b }
            if let a = left.numeric, let b = right.numeric { return a == b }
            return false
        }
    }

    /// -1, 0 or 1; Python's ordering of numbers, strings (by code point) and lists.
    static func compare(_ left: Value, _ right: Value, op: String, at location: SourceLocation)
        throws(TemplateError)
        -> Int
    {
        switch (left, right) {
        case (.string(let a), .string(let b)):
            if a.unicodeScalars.elementsEqual(b.unicodeScalars) { return 0 }
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : 1
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            for (x, y) in zip(a, b) where !equal(x, y) { return try compare(x, y, op: op, at: location) }
            return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
        default:
            if let a = left.integer, let b = right.integer { return a == b ? 0 : (a < b ? -1 : 1) }
            if let a = left.numeric, let b = right.numeric { return a == b ? 0 : (a < b ? -1 : 1) }
            if case .undefined(let hint) = left { throw TemplateError(.undefined, hint, at: location) }
            if case .undefined(let hint) = right { throw TemplateError(.undefined, hint, at: location) }
            throw TemplateError(
                .type,
                "'\(op)' not supported between instances of '\(left.typeName)' and '\(right.typeName)'",
                at: location)
        }
    }

    static func contains(_ container: Value, _ element: Value, at location: SourceLocation)
        throws(TemplateError)
        -> Bool
    {
        switch container {
        case .string(let string):
            guard case .string(let needle) = element else {
                throw TemplateError(
                    .type, "'in <string>' requires string as left operand, not \(element.typeName)",
                    at: location)
            }
            return PythonString.contains(string, needle)
        case .list(let values), .tuple(let values), .iterator(_, let values):
            return values.contains { equal($0, element) }
        case .dict(let dict):
            guard case .string(let key) = element else { return false }
            return dict[key] != nil
        case .undefined: return false
        default:
            throw TemplateError(
                .type, "argument of type '\(container.typeName)' is not iterable", at: location)
        }
    }

    private static func arithmetic(
        _ op: BinaryOperator, _ left: Value, _ right: Value, at location: SourceLocation
    )
        throws(TemplateError) -> Value
    {
        let failure = TemplateError(
            .type,
            "unsupported operand type(s) for \(op.rawValue): '\(left.typeName)' and '\(right.typeName)'",
            at: location)
        if case .undefined(let hint) = left { throw TemplateError(.undefined, hint, at: location) }
        if case .undefined(let hint) = right { throw TemplateError(.undefined, hint, at: location) }
        // Repetition is bounded so that `'x' * 10**12` is an error, not an exhausted machine.
        if op == .multiply, let count = left.integer ?? right.integer, count > 10_000_000 {
            switch (left, right) {
            case (.string, _), (_, .string), (.list, _), (_, .list):
                throw TemplateError(.type, "repetition count \(count) is too large", at: location)
            default: break
            }
        }
        switch (op, left, right) {
        case (.add, .string(let a), .string(let b)): return .string(a + b)
        case (.add, .list(let a), .list(let b)): return .list(a + b)
        case (.add, .tuple(let a), .tuple(let b)): return .tuple(a + b)
        case (.multiply, .string(let s), _) where right.integer != nil:
            return .string(String(repeating: s, count: max(0, right.integer!)))
        case (.multiply, _, .string(let s)) where left.integer != nil:
            return .string(String(repeating: s, count: max(0, left.integer!)))
        case (.multiply, .list(let a), _) where right.integer != nil:
            return .list(Array(repeating: a, count: max(0, right.integer!)).flatMap { $0 })
        default: break
        }
        if let a = left.integer, let b = right.integer {
            switch op {
            case .add: return try checked(a.addingReportingOverflow(b), at: location)
            case .subtract: return try checked(a.subtractingReportingOverflow(b), at: location)
            case .multiply: return try checked(a.multipliedReportingOverflow(by: b), at: location)
            case .divide:
                guard b != 0 else { throw TemplateError(.type, "division by zero", at: location) }
                return .double(Double(a) / Double(b))
            case .floorDivide, .modulo:
                guard b != 0 else {
                    throw TemplateError(.type, "integer division or modulo by zero", at: location)
                }
                var quotient = a / b
                var remainder = a % b
                if remainder != 0 && ((remainder < 0) != (b < 0)) {
                    quotient -= 1
                    remainder += b
                }
                return .int(op == .floorDivide ? quotient : remainder)
            case .power:
                if b < 0 { return .double(pow(Double(a), Double(b))) }
                var result = 1
                for _ in 0..<b {
                    let (product, overflow) = result.multipliedReportingOverflow(by: a)
                    guard !overflow else { throw TemplateError(.type, "integer overflow", at: location) }
                    result = product
                }
                return .int(result)
            default: throw failure
            }
        }
        guard let a = left.numeric, let b = right.numeric else { throw failure }
        switch op {
        case .add: return .double(a + b)
        case .subtract: return .double(a - b)
        case .multiply: return .double(a * b)
        case .divide:
            guard b != 0 else { throw TemplateError(.type, "float division by zero", at: location) }
            return .double(a / b)
        case .floorDivide:
            guard b != 0 else { throw TemplateError(.type, "float floor division by zero", at: location) }
            return .double((a / b).rounded(.down))
        case .modulo:
            guard b != 0 else { throw TemplateError(.type, "float modulo", at: location) }
            let remainder = fmod(a, b)
            return .double(remainder != 0 && ((remainder < 0) != (b < 0)) ? remainder + b : remainder)
        case .power: return .double(pow(a, b))
        default: throw failure
        }
    }

    private static func checked(_ result: (partialValue: Int, overflow: Bool), at location: SourceLocation)
        throws(TemplateError) -> Value
    {
        guard !result.overflow else { throw TemplateError(.type, "integer overflow", at: location) }
        return .int(result.partialValue)
    }
}
