import Foundation

/// A variable scope. The template has one; each for-loop iteration and each macro call opens a child,
/// so `{% set %}` inside them does not leak out (jinja2's scoping; `namespace` exists to get around it).
final class Scope {
    var variables: [String: Value] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var scope: Scope? = self
        while let current = scope {
            if let value = current.variables[name] { return value }
            scope = current.parent
        }
        return nil
    }
}

/// Walks the syntax tree, writing output to a string. `generationSpans` collects the UTF-8 byte ranges
/// of `{% generation %}` blocks in the top-level output (transformers' `AssistantTracker`).
struct Interpreter {
    enum Flow {
        case normal, breakLoop, continueLoop
    }

    var output = ""
    var generationSpans: [Range<Int>] = []
    /// Nesting of output captures (macro bodies, block `set`, filter blocks); spans are only recorded at 0.
    private var captureDepth = 0

    static func render(_ nodes: [Node], variables: [String: Value], now: Date) throws(TemplateError)
        -> Interpreter
    {
        var interpreter = Interpreter()
        let globals = Scope(parent: nil)
        globals.variables = Builtins.globals(now: now)
        let root = Scope(parent: globals)
        root.variables = variables
        _ = try interpreter.execute(nodes, in: root)
        return interpreter
    }

    /// Nesting of captures at which rendering stops (macro recursion), as Python stops at its recursion limit.
    static let maximumCaptureDepth = 100

    /// Runs `body` with output going to a fresh buffer and returns what it wrote.
    mutating func capture(_ body: (inout Interpreter) throws(TemplateError) -> Void) throws(TemplateError)
        -> String
    {
        guard captureDepth < Self.maximumCaptureDepth else {
            throw TemplateError(
                .type, "maximum recursion depth exceeded (macros nested \(Self.maximumCaptureDepth) deep)")
        }
        let saved = output
        output = ""
        captureDepth += 1
        defer { captureDepth -= 1 }
        do {
            try body(&self)
        } catch {
            output = saved
            throw error
        }
        let captured = output
        output = saved
        return captured
    }

    mutating func execute(_ nodes: [Node], in scope: Scope) throws(TemplateError) -> Flow {
        for node in nodes {
            let flow = try execute(node, in: scope)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    private mutating func execute(_ node: Node, in scope: Scope) throws(TemplateError) -> Flow {
        switch node.kind {
        case .text(let text):
            output += text
        case .output(let expression):
            output += try evaluate(expression, in: scope).pythonString
        case .conditional(let branches, let otherwise):
            for branch in branches where try evaluate(branch.condition, in: scope).isTruthy {
                return try execute(branch.body, in: scope)
            }
            return try execute(otherwise, in: scope)
        case .loop(let targets, let iterable, let filter, let body, let otherwise):
            return try executeLoop(
                targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise,
                in: scope, at: node.location)
        case .set(let target, let expression):
            try assign(try evaluate(expression, in: scope), to: target, in: scope, at: node.location)
        case .setBlock(let target, let filters, let body):
            var value = Value.string(
                try capture { (interpreter: inout Interpreter) throws(TemplateError) in
                    _ = try interpreter.execute(body, in: scope)
                })
            for filter in filters {
                value = try applyFilter(
                    filter.name, to: value, filter.arguments, in: scope, at: filter.location)
            }
            try assign(value, to: target, in: scope, at: node.location)
        case .macro(let name, let parameters, let body):
            scope.variables[name] = .callable(
                macro(name: name, parameters: parameters, body: body, defined: scope))
        case .callBlock(let call, let parameters, let body):
            // jinja2 passes the block to the macro as the keyword argument `caller`.
            guard case .call(let callee, let argumentExpressions) = call.kind else { return .normal }
            let caller = macro(name: "caller", parameters: parameters, body: body, defined: scope)
            var arguments = try evaluateArguments(argumentExpressions, in: scope)
            arguments.keyword.append(("caller", .callable(caller)))
            output += try invoke(try evaluate(callee, in: scope), arguments, at: call.location).pythonString
        case .filterBlock(let filters, let body):
            var value = Value.string(
                try capture { (interpreter: inout Interpreter) throws(TemplateError) in
                    _ = try interpreter.execute(body, in: scope)
                })
            for filter in filters {
                value = try applyFilter(
                    filter.name, to: value, filter.arguments, in: scope, at: filter.location)
            }
            output += value.pythonString
        case .with(let assignments, let body):
            let inner = Scope(parent: scope)
            for (name, value) in assignments { inner.variables[name] = try evaluate(value, in: scope) }
            return try execute(body, in: inner)
        case .generation(let body):
            let start = output.utf8.count
            let flow = try execute(body, in: scope)
            if captureDepth == 0 { generationSpans.append(start..<output.utf8.count) }
            return flow
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    private mutating func executeLoop(
        targets: [String], iterable: Expression, filter: Expression?, body: [Node], otherwise: [Node],
        in scope: Scope, at location: SourceLocation
    ) throws(TemplateError) -> Flow {
        let source = try evaluate(iterable, in: scope)
        var items = try iterate(source, at: iterable.location)
        if let filter {
            var kept: [Value] = []
            for item in items {
                let itemScope = Scope(parent: scope)
                try bind(item, to: targets, in: itemScope, at: location)
                if try evaluate(filter, in: itemScope).isTruthy { kept.append(item) }
            }
            items = kept
        }
        guard !items.isEmpty else { return try execute(otherwise, in: scope) }
        let loop = LoopState(items: items)
        for (index, item) in items.enumerated() {
            loop.index0 = index
            let iterationScope = Scope(parent: scope)
            iterationScope.variables["loop"] = .loop(loop)
            try bind(item, to: targets, in: iterationScope, at: location)
            if case .breakLoop = try execute(body, in: iterationScope) { break }
        }
        return .normal
    }

    private func bind(_ item: Value, to targets: [String], in scope: Scope, at location: SourceLocation)
        throws(TemplateError)
    {
        if targets.count == 1 {
            scope.variables[targets[0]] = item
            return
        }
        let parts = try iterate(item, at: location)
        guard parts.count == targets.count else {
            throw TemplateError(
                .type, "cannot unpack \(parts.count) values into \(targets.count) names", at: location)
        }
        for (name, part) in zip(targets, parts) { scope.variables[name] = part }
    }

    private func assign(
        _ value: Value, to target: Node.AssignTarget, in scope: Scope, at location: SourceLocation
    )
        throws(TemplateError)
    {
        switch target {
        case .name(let name):
            scope.variables[name] = value
        case .names(let names):
            try bind(value, to: names, in: scope, at: location)
        case .attribute(let object, let attribute):
            guard case .namespace(let namespace) = scope.lookup(object) else {
                throw TemplateError(
                    .type, "cannot assign attribute on non-namespace object '\(object)'", at: location)
            }
            try Builtins.checkNamespaceName(attribute, at: location)
            namespace.attributes[attribute] = value
        }
    }

    /// A macro (or a `call` block's `caller`): a callable that renders its body in a child of the scope
    /// where it was defined, with its parameters bound, and returns the output.
    private func macro(name: String, parameters: [Node.Parameter], body: [Node], defined scope: Scope)
        -> Callable
    {
        Callable(name: name) { (arguments: Arguments, interpreter: inout Interpreter) throws(TemplateError) in
            let callScope = Scope(parent: scope)
            for (position, parameter) in parameters.enumerated() {
                if let value = arguments.value(position, parameter.name) {
                    callScope.variables[parameter.name] = value
                } else if let defaultValue = parameter.defaultValue {
                    callScope.variables[parameter.name] = try interpreter.evaluate(
                        defaultValue, in: callScope)
                } else {
                    callScope.variables[parameter.name] = .undefined(hint: "'\(parameter.name)' is undefined")
                }
            }
            let extra = Array(arguments.positional.dropFirst(parameters.count))
            callScope.variables["varargs"] = .list(extra)
            var kwargs = Dict()
            for (key, value) in arguments.keyword where !parameters.contains(where: { $0.name == key }) {
                if key == "caller" { callScope.variables["caller"] = value } else { kwargs[key] = value }
            }
            callScope.variables["kwargs"] = .dict(kwargs)
            return .string(
                try interpreter.capture { (interpreter: inout Interpreter) throws(TemplateError) in
                    _ = try interpreter.execute(body, in: callScope)
                })
        }
    }

    /// The items a for loop or a filter iterates: list items, dict keys, string code points;
    /// `Undefined` iterates as empty (jinja2's default `Undefined`).
    func iterate(_ value: Value, at location: SourceLocation) throws(TemplateError) -> [Value] {
        switch value {
        case .list(let values), .tuple(let values), .iterator(_, let values): return values
        case .dict(let dict): return dict.keys.map(Value.string)
        case .string(let string): return string.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw TemplateError(.type, "'\(value.typeName)' object is not iterable", at: location)
        }
    }
}
