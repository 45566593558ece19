/// Recursive-descent parser from tokens to nodes, following jinja2's grammar and operator precedence
/// (`parser.py`): conditional expression < `or` < `and` < `not` < comparisons and `in` < `+ -`
/// < `~` < `* / // %` < `**` < unary `-` < postfix (`.attr`, `[key]`, `(args)`), filters and tests.
struct Parser {
    private let tokens: [Token]
    private var index = 0
    /// Nesting of expressions and statements being parsed; bounded so that hostile input cannot
    /// overflow the stack.
    private var depth = 0
    static let maximumDepth = 200

    static func parse(_ source: String) throws(TemplateError) -> [Node] {
        var parser = Parser(tokens: try Lexer.tokenize(source))
        let (nodes, _) = try parser.parseBody(endingAt: [])
        return nodes
    }

    private init(tokens: [Token]) { self.tokens = tokens }

    // MARK: Token helpers

    private var current: Token { tokens[index] }
    private var location: SourceLocation { tokens[index].location }

    private mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func isOp(_ op: String, offset: Int = 0) -> Bool {
        let at = min(index + offset, tokens.count - 1)
        return tokens[at].kind == .op(op)
    }

    private func isName(_ name: String, offset: Int = 0) -> Bool {
        let at = min(index + offset, tokens.count - 1)
        return tokens[at].kind == .name(name)
    }

    private mutating func skip(op: String) -> Bool {
        guard isOp(op) else { return false }
        index += 1
        return true
    }

    private mutating func skip(name: String) -> Bool {
        guard isName(name) else { return false }
        index += 1
        return true
    }

    private func error(_ message: String, at location: SourceLocation? = nil) -> TemplateError {
        TemplateError(.syntax, message, at: location ?? self.location)
    }

    private func describe(_ kind: Token.Kind) -> String {
        switch kind {
        case .text: return "text"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let name): return "'\(name)'"
        case .string: return "a string"
        case .integer, .float: return "a number"
        case .op(let op): return "'\(op)'"
        case .end: return "end of template"
        }
    }

    private mutating func expect(op: String) throws(TemplateError) {
        guard skip(op: op) else { throw error("expected '\(op)', found \(describe(current.kind))") }
    }

    private mutating func expectBlockEnd() throws(TemplateError) {
        guard current.kind == .blockEnd else { throw error("expected '%}', found \(describe(current.kind))") }
        index += 1
    }

    private mutating func expectName() throws(TemplateError) -> String {
        guard case .name(let name) = current.kind else {
            throw error("expected a name, found \(describe(current.kind))")
        }
        index += 1
        return name
    }

    // MARK: Statements

    /// Parses nodes until a block tag whose name is in `names`; returns them and that name, leaving the
    /// position after the name (the caller parses the rest of the closing tag).
    private mutating func parseBody(endingAt names: Set<String>) throws(TemplateError) -> ([Node], String) {
        var nodes: [Node] = []
        while true {
            let token = advance()
            switch token.kind {
            case .text(let text):
                nodes.append(Node(kind: .text(text), location: token.location))
            case .variableBegin:
                let expression = try parseTuple()
                guard current.kind == .variableEnd else {
                    throw error("expected '}}', found \(describe(current.kind))")
                }
                index += 1
                nodes.append(Node(kind: .output(expression), location: token.location))
            case .blockBegin:
                guard case .name(let keyword) = current.kind else {
                    throw error("expected a statement name after '{%'")
                }
                if names.contains(keyword) {
                    index += 1
                    return (nodes, keyword)
                }
                nodes.append(try parseStatement())
            case .end:
                if names.isEmpty { return (nodes, "") }
                let expected = names.sorted().map { "'\($0)'" }.joined(separator: " or ")
                throw error("unexpected end of template, expected \(expected)", at: token.location)
            default:
                throw error("unexpected \(describe(token.kind))", at: token.location)
            }
        }
    }

    private mutating func parseStatement() throws(TemplateError) -> Node {
        try enter()
        defer { depth -= 1 }
        let start = location
        let keyword = try expectName()
        switch keyword {
        case "if": return try parseIf(at: start)
        case "for": return try parseFor(at: start)
        case "set": return try parseSet(at: start)
        case "macro": return try parseMacro(at: start)
        case "call": return try parseCallBlock(at: start)
        case "filter":
            let filters = try parseFilterChain()
            try expectBlockEnd()
            let (body, _) = try parseBody(endingAt: ["endfilter"])
            try expectBlockEnd()
            return Node(kind: .filterBlock(filters: filters, body: body), location: start)
        case "with":
            var assignments: [(name: String, value: Expression)] = []
            while current.kind != .blockEnd {
                if !assignments.isEmpty { try expect(op: ",") }
                let name = try expectName()
                try expect(op: "=")
                assignments.append((name, try parseExpression()))
            }
            try expectBlockEnd()
            let (body, _) = try parseBody(endingAt: ["endwith"])
            try expectBlockEnd()
            return Node(kind: .with(assignments: assignments, body: body), location: start)
        case "generation":
            try expectBlockEnd()
            let (body, _) = try parseBody(endingAt: ["endgeneration"])
            try expectBlockEnd()
            return Node(kind: .generation(body: body), location: start)
        case "break", "continue":
            try expectBlockEnd()
            return Node(kind: keyword == "break" ? .breakLoop : .continueLoop, location: start)
        default:
            throw error("unsupported or unknown statement '\(keyword)'", at: start)
        }
    }

    private mutating func parseIf(at start: SourceLocation) throws(TemplateError) -> Node {
        var branches: [(condition: Expression, body: [Node])] = []
        var condition = try parseTuple()
        while true {
            try expectBlockEnd()
            let (body, tag) = try parseBody(endingAt: ["elif", "else", "endif"])
            branches.append((condition, body))
            switch tag {
            case "elif":
                condition = try parseTuple()
            case "else":
                try expectBlockEnd()
                let (otherwise, _) = try parseBody(endingAt: ["endif"])
                try expectBlockEnd()
                return Node(kind: .conditional(branches: branches, otherwise: otherwise), location: start)
            default:
                try expectBlockEnd()
                return Node(kind: .conditional(branches: branches, otherwise: []), location: start)
            }
        }
    }

    private mutating func parseFor(at start: SourceLocation) throws(TemplateError) -> Node {
        var targets: [String] = []
        let parenthesised = skip(op: "(")
        repeat {
            if isName("in") { break }
            targets.append(try expectName())
        } while skip(op: ",")
        if parenthesised { try expect(op: ")") }
        guard skip(name: "in") else { throw error("expected 'in' in a for loop") }
        let iterable = try parseTuple(conditional: false, extraEnd: ["recursive", "if"])
        let filter = skip(name: "if") ? try parseExpression() : nil
        if isName("recursive") { throw error("recursive for loops are not supported") }
        try expectBlockEnd()
        let (body, tag) = try parseBody(endingAt: ["endfor", "else"])
        var otherwise: [Node] = []
        if tag == "else" {
            try expectBlockEnd()
            (otherwise, _) = try parseBody(endingAt: ["endfor"])
        }
        try expectBlockEnd()
        return Node(
            kind: .loop(
                targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise),
            location: start)
    }

    private mutating func parseAssignTarget() throws(TemplateError) -> Node.AssignTarget {
        if skip(op: "(") {
            var names: [String] = []
            repeat {
                if isOp(")") { break }
                names.append(try expectName())
            } while skip(op: ",")
            try expect(op: ")")
            return .names(names)
        }
        let first = try expectName()
        if skip(op: ".") { return .attribute(object: first, attribute: try expectName()) }
        guard isOp(",") else { return .name(first) }
        var names = [first]
        while skip(op: ",") {
            if isOp("=") { break }
            names.append(try expectName())
        }
        return .names(names)
    }

    private mutating func parseSet(at start: SourceLocation) throws(TemplateError) -> Node {
        let target = try parseAssignTarget()
        if skip(op: "=") {
            let value = try parseTuple()
            try expectBlockEnd()
            return Node(kind: .set(target, value), location: start)
        }
        let filters = skip(op: "|") ? try parseFilterChain() : []
        try expectBlockEnd()
        let (body, _) = try parseBody(endingAt: ["endset"])
        try expectBlockEnd()
        return Node(kind: .setBlock(target, filters: filters, body: body), location: start)
    }

    private mutating func parseParameters() throws(TemplateError) -> [Node.Parameter] {
        try expect(op: "(")
        var parameters: [Node.Parameter] = []
        while !isOp(")") {
            if !parameters.isEmpty { try expect(op: ",") }
            if isOp(")") { break }
            let name = try expectName()
            let defaultValue = skip(op: "=") ? try parseExpression() : nil
            parameters.append(Node.Parameter(name: name, defaultValue: defaultValue))
        }
        try expect(op: ")")
        return parameters
    }

    private mutating func parseMacro(at start: SourceLocation) throws(TemplateError) -> Node {
        let name = try expectName()
        let parameters = try parseParameters()
        try expectBlockEnd()
        let (body, _) = try parseBody(endingAt: ["endmacro"])
        if case .name = current.kind { index += 1 }  // `{% endmacro name %}`
        try expectBlockEnd()
        return Node(kind: .macro(name: name, parameters: parameters, body: body), location: start)
    }

    private mutating func parseCallBlock(at start: SourceLocation) throws(TemplateError) -> Node {
        let parameters = isOp("(") ? try parseParameters() : []
        let call = try parseExpression()
        guard case .call = call.kind else {
            throw error("expected a macro call after 'call'", at: call.location)
        }
        try expectBlockEnd()
        let (body, _) = try parseBody(endingAt: ["endcall"])
        try expectBlockEnd()
        return Node(kind: .callBlock(call: call, parameters: parameters, body: body), location: start)
    }

    private mutating func parseFilterChain() throws(TemplateError) -> [FilterCall] {
        var filters: [FilterCall] = []
        repeat {
            let at = location
            let name = try parseDottedName()
            let arguments = isOp("(") ? try parseArguments() : []
            filters.append(FilterCall(name: name, arguments: arguments, location: at))
        } while skip(op: "|")
        return filters
    }

    // MARK: Expressions

    /// An expression, or a tuple when commas separate several (`{% set a = 1, 2 %}`, `(a, b)`).
    private mutating func parseTuple(
        conditional: Bool = true, extraEnd: Set<String> = [], explicitParentheses: Bool = false
    ) throws(TemplateError) -> Expression {
        let start = location
        var items: [Expression] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expect(op: ",") }
            if isTupleEnd(extraEnd) { break }
            items.append(conditional ? try parseExpression() : try parseOr())
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw error("expected an expression, found \(describe(current.kind))") }
        }
        return Expression(kind: .tuple(items), location: start)
    }

    private func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .end: return true
        case .op(")"): return true
        case .name(let name): return extraEnd.contains(name)
        default: return false
        }
    }

    private mutating func parseExpression() throws(TemplateError) -> Expression {
        var expression = try parseOr()
        while isName("if") {
            let at = location
            index += 1
            let condition = try parseOr()
            let otherwise = skip(name: "else") ? try parseExpression() : nil
            expression = Expression(
                kind: .conditional(condition: condition, then: expression, otherwise: otherwise), location: at
            )
        }
        return expression
    }

    private mutating func parseOr() throws(TemplateError) -> Expression {
        var left = try parseAnd()
        while isName("or") {
            let at = location
            index += 1
            left = Expression(kind: .or(left, try parseAnd()), location: at)
        }
        return left
    }

    private mutating func parseAnd() throws(TemplateError) -> Expression {
        var left = try parseNot()
        while isName("and") {
            let at = location
            index += 1
            left = Expression(kind: .and(left, try parseNot()), location: at)
        }
        return left
    }

    private mutating func parseNot() throws(TemplateError) -> Expression {
        if isName("not") {
            let at = location
            index += 1
            return Expression(kind: .not(try parseNot()), location: at)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws(TemplateError) -> Expression {
        let first = try parseMath1()
        var comparisons: [(BinaryOperator, Expression, SourceLocation)] = []
        while true {
            let at = location
            if case .op(let op) = current.kind, let compare = BinaryOperator(rawValue: op),
                ["==", "!=", "<", "<=", ">", ">="].contains(op)
            {
                index += 1
                comparisons.append((compare, try parseMath1(), at))
            } else if isName("in") {
                index += 1
                comparisons.append((.contains, try parseMath1(), at))
            } else if isName("not") && isName("in", offset: 1) {
                index += 2
                comparisons.append((.notContains, try parseMath1(), at))
            } else {
                break
            }
        }
        // Python chains comparisons: `a < b < c` means `a < b and b < c`.
        var result: Expression?
        var left = first
        for (op, right, at) in comparisons {
            let pair = Expression(kind: .binary(op, left, right), location: at)
            result = result.map { Expression(kind: .and($0, pair), location: at) } ?? pair
            left = right
        }
        return result ?? first
    }

    private mutating func parseBinaryLevel(
        _ operators: [String], next: (inout Parser) throws(TemplateError) -> Expression
    ) throws(TemplateError) -> Expression {
        var left = try next(&self)
        while case .op(let op) = current.kind, operators.contains(op),
            let binary = BinaryOperator(rawValue: op)
        {
            let at = location
            index += 1
            left = Expression(kind: .binary(binary, left, try next(&self)), location: at)
        }
        return left
    }

    private mutating func parseMath1() throws(TemplateError) -> Expression {
        try parseBinaryLevel(["+", "-"]) { (parser: inout Parser) throws(TemplateError) in
            try parser.parseConcat()
        }
    }

    private mutating func parseConcat() throws(TemplateError) -> Expression {
        try parseBinaryLevel(["~"]) { (parser: inout Parser) throws(TemplateError) in try parser.parseMath2()
        }
    }

    private mutating func parseMath2() throws(TemplateError) -> Expression {
        try parseBinaryLevel(["*", "/", "//", "%"]) { (parser: inout Parser) throws(TemplateError) in
            try parser.parsePower()
        }
    }

    private mutating func parsePower() throws(TemplateError) -> Expression {
        try parseBinaryLevel(["**"]) { (parser: inout Parser) throws(TemplateError) in
            try parser.parseUnary(withFilter: true)
        }
    }

    private mutating func enter() throws(TemplateError) {
        depth += 1
        guard depth <= Self.maximumDepth else {
            throw error("the template nests deeper than \(Self.maximumDepth) levels")
        }
    }

    private mutating func parseUnary(withFilter: Bool) throws(TemplateError) -> Expression {
        try enter()
        defer { depth -= 1 }
        let at = location
        var expression: Expression
        if skip(op: "-") {
            expression = Expression(kind: .negate(try parseUnary(withFilter: false)), location: at)
        } else if skip(op: "+") {
            expression = Expression(kind: .plus(try parseUnary(withFilter: false)), location: at)
        } else {
            expression = try parsePostfix(try parsePrimary())
        }
        return withFilter ? try parseFilterExpression(expression) : expression
    }

    private mutating func parsePrimary() throws(TemplateError) -> Expression {
        let token = advance()
        let at = token.location
        switch token.kind {
        case .name(let name):
            switch name {
            case "true", "True": return Expression(kind: .literal(.bool(true)), location: at)
            case "false", "False": return Expression(kind: .literal(.bool(false)), location: at)
            case "none", "None": return Expression(kind: .literal(.none), location: at)
            default: return Expression(kind: .name(name), location: at)
            }
        case .string(var string):
            // Adjacent string literals concatenate, as in Python.
            while case .string(let more) = current.kind {
                string += more
                index += 1
            }
            return Expression(kind: .literal(.string(string)), location: at)
        case .integer(let value):
            return Expression(kind: .literal(.int(value)), location: at)
        case .float(let value):
            return Expression(kind: .literal(.double(value)), location: at)
        case .op("("):
            let inner = try parseTuple(explicitParentheses: true)
            try expect(op: ")")
            return inner
        case .op("["):
            var items: [Expression] = []
            while !isOp("]") {
                if !items.isEmpty { try expect(op: ",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expect(op: "]")
            return Expression(kind: .list(items), location: at)
        case .op("{"):
            var pairs: [(key: Expression, value: Expression)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expect(op: ",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expect(op: ":")
                pairs.append((key, try parseExpression()))
            }
            try expect(op: "}")
            return Expression(kind: .dict(pairs), location: at)
        default:
            throw error("unexpected \(describe(token.kind))", at: at)
        }
    }

    private mutating func parsePostfix(_ base: Expression) throws(TemplateError) -> Expression {
        var expression = base
        while true {
            let at = location
            if skip(op: ".") {
                switch advance().kind {
                case .name(let name):
                    expression = Expression(kind: .attribute(expression, name), location: at)
                case .integer(let value):
                    let key = Expression(kind: .literal(.int(value)), location: at)
                    expression = Expression(kind: .item(expression, key), location: at)
                default:
                    throw error("expected an attribute name after '.'", at: at)
                }
            } else if skip(op: "[") {
                expression = try parseSubscript(of: expression, at: at)
            } else if isOp("(") {
                // A call is located at its callee, where a reader looks for `raise_exception(...)`.
                expression = Expression(
                    kind: .call(expression, try parseArguments()), location: expression.location)
            } else {
                return expression
            }
        }
    }

    private mutating func parseSubscript(of base: Expression, at: SourceLocation) throws(TemplateError)
        -> Expression
    {
        var parts: [Expression?] = [nil]
        var colons = 0
        while !isOp("]") {
            if skip(op: ":") {
                colons += 1
                guard colons <= 2 else { throw error("too many ':' in a slice") }
                parts.append(nil)
            } else {
                guard parts[parts.count - 1] == nil else { throw error("expected ']' or ':' in a subscript") }
                parts[parts.count - 1] = try parseExpression()
            }
        }
        try expect(op: "]")
        if colons == 0 {
            guard let key = parts[0] else { throw error("expected a subscript", at: at) }
            return Expression(kind: .item(base, key), location: at)
        }
        while parts.count < 3 { parts.append(nil) }
        return Expression(kind: .slice(base, start: parts[0], stop: parts[1], step: parts[2]), location: at)
    }

    private mutating func parseArguments() throws(TemplateError) -> [Argument] {
        try expect(op: "(")
        var arguments: [Argument] = []
        while !isOp(")") {
            if !arguments.isEmpty { try expect(op: ",") }
            if isOp(")") { break }
            if isOp("*") || isOp("**") {
                let unpacking: Argument.Unpacking = isOp("*") ? .positional : .keyword
                index += 1
                arguments.append(Argument(name: nil, value: try parseExpression(), unpacking: unpacking))
            } else if case .name(let name) = current.kind, isOp("=", offset: 1) {
                index += 2
                arguments.append(Argument(name: name, value: try parseExpression()))
            } else {
                guard arguments.allSatisfy({ $0.name == nil && $0.unpacking != .keyword }) else {
                    throw error("a positional argument follows a keyword argument")
                }
                arguments.append(Argument(name: nil, value: try parseExpression()))
            }
        }
        try expect(op: ")")
        return arguments
    }

    private mutating func parseDottedName() throws(TemplateError) -> String {
        var name = try expectName()
        while isOp("."), case .name(let part) = tokens[min(index + 1, tokens.count - 1)].kind {
            index += 2
            name += "." + part
        }
        return name
    }

    private mutating func parseFilterExpression(_ base: Expression) throws(TemplateError) -> Expression {
        var expression = base
        while true {
            let at = location
            if skip(op: "|") {
                let name = try parseDottedName()
                let arguments = isOp("(") ? try parseArguments() : []
                expression = Expression(kind: .filter(expression, name: name, arguments), location: at)
            } else if skip(name: "is") {
                let negated = skip(name: "not")
                let name = try parseDottedName()
                var arguments: [Argument] = []
                if isOp("(") {
                    arguments = try parseArguments()
                } else if startsBareTestArgument {
                    arguments = [Argument(name: nil, value: try parsePostfix(try parsePrimary()))]
                }
                expression = Expression(
                    kind: .test(expression, name: name, arguments, negated: negated), location: at)
            } else if isOp("(") {
                expression = Expression(kind: .call(expression, try parseArguments()), location: at)
            } else {
                return expression
            }
        }
    }

    /// `x is divisibleby 3`, `x is sameas none`: a test may take one argument without parentheses.
    private var startsBareTestArgument: Bool {
        switch current.kind {
        case .name(let name): return !["else", "or", "and", "if", "in", "not", "is"].contains(name)
        case .string, .integer, .float: return true
        case .op("["), .op("{"): return true
        default: return false
        }
    }
}
