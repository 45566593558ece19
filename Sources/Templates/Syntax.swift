/// The parsed form of a template: statements (`Node`) holding expressions (`Expression`).
/// Every node keeps its source location so that rendering errors name the template line and column.

struct Expression: Sendable {
    indirect enum Kind: Sendable {
        case literal(Value.Literal)
        case name(String)
        case list([Expression])
        case tuple([Expression])
        case dict([(key: Expression, value: Expression)])
        case attribute(Expression, String)
        case item(Expression, Expression)
        case slice(Expression, start: Expression?, stop: Expression?, step: Expression?)
        case call(Expression, [Argument])
        case filter(Expression, name: String, [Argument])
        case test(Expression, name: String, [Argument], negated: Bool)
        case not(Expression)
        case negate(Expression)
        case plus(Expression)
        case binary(BinaryOperator, Expression, Expression)
        case and(Expression, Expression)
        case or(Expression, Expression)
        case conditional(condition: Expression, then: Expression, otherwise: Expression?)
    }

    var kind: Kind
    var location: SourceLocation
}

enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%"
    case power = "**", concat = "~"
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case contains = "in", notContains = "not in"
}

/// A call argument: positional (`name == nil`), keyword, or `*list` / `**dict` unpacking.
struct Argument: Sendable {
    enum Unpacking: Sendable {
        case none, positional, keyword
    }

    var name: String?
    var value: Expression
    var unpacking = Unpacking.none
}

/// A filter application in a `{% filter %}` block or a block `set`.
struct FilterCall: Sendable {
    var name: String
    var arguments: [Argument]
    var location: SourceLocation
}

struct Node: Sendable {
    enum AssignTarget: Sendable {
        case name(String)
        case names([String])
        case attribute(object: String, attribute: String)
    }

    struct Parameter: Sendable {
        var name: String
        var defaultValue: Expression?
    }

    indirect enum Kind: Sendable {
        case text(String)
        case output(Expression)
        case conditional(branches: [(condition: Expression, body: [Node])], otherwise: [Node])
        case loop(
            targets: [String], iterable: Expression, filter: Expression?, body: [Node], otherwise: [Node])
        case set(AssignTarget, Expression)
        case setBlock(AssignTarget, filters: [FilterCall], body: [Node])
        case macro(name: String, parameters: [Parameter], body: [Node])
        case callBlock(call: Expression, parameters: [Parameter], body: [Node])
        case filterBlock(filters: [FilterCall], body: [Node])
        case generation(body: [Node])
        /// `{% with a = 1, b = 2 %}...{% endwith %}`: assignments visible only inside.
        case with(assignments: [(name: String, value: Expression)], body: [Node])
        case breakLoop
        case continueLoop
    }

    var kind: Kind
    var location: SourceLocation
}
