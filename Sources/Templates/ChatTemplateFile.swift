import Foundation

/// A model's chat template and special tokens as saved beside its tokenizer.
///
/// The template comes from `chat_template.jinja` (transformers 5 writes it there), else from
/// `chat_template.json` (`{"chat_template": ...}`, processors), else from `tokenizer_config.json`'s
/// `chat_template`, which is a string or a list of `{"name", "template"}` (the one named `default` is
/// used, or the only one). Special tokens are strings or `{"content": ...}` objects in the config.
public struct ChatTemplateFile: Sendable, Equatable {
    public var template: String
    /// Where the template was read from.
    public var templateURL: URL
    /// The special tokens transformers passes to the template (`bos_token`, `eos_token`, `unk_token`,
    /// `pad_token`, ...), by their config names; absent tokens are absent.
    public var specialTokens: [String: String]

    public var bosToken: String? { specialTokens["bos_token"] }
    public var eosToken: String? { specialTokens["eos_token"] }

    static let specialTokenNames = [
        "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
    ]

    public static func load(directory: URL) throws(TemplateError) -> ChatTemplateFile {
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        var config = TemplateObject()
        if FileManager.default.fileExists(atPath: configURL.path) {
            guard case .object(let object) = try readJSON(configURL) else {
                throw TemplateError(.file, "\(configURL.path): expected a JSON object")
            }
            config = object
        }
        var specialTokens: [String: String] = [:]
        for name in specialTokenNames {
            switch config[name] {
            case .string(let token): specialTokens[name] = token
            case .object(let object):
                if case .string(let token) = object["content"] { specialTokens[name] = token }
            default: break
            }
        }

        let jinjaURL = directory.appendingPathComponent("chat_template.jinja")
        if let text = try readTextIfPresent(jinjaURL) {
            return ChatTemplateFile(template: text, templateURL: jinjaURL, specialTokens: specialTokens)
        }
        let jsonURL = directory.appendingPathComponent("chat_template.json")
        if FileManager.default.fileExists(atPath: jsonURL.path) {
            guard case .string(let text) = try readJSON(jsonURL)["chat_template"] else {
                throw TemplateError(.file, "\(jsonURL.path): no string field chat_template")
            }
            return ChatTemplateFile(template: text, templateURL: jsonURL, specialTokens: specialTokens)
        }
        switch config["chat_template"] {
        case .string(let text):
            return ChatTemplateFile(template: text, templateURL: configURL, specialTokens: specialTokens)
        case .array(let entries):
            var named: [(name: String, template: String)] = []
            for entry in entries {
                guard case .string(let name) = entry["name"], case .string(let template) = entry["template"]
                else {
                    throw TemplateError(
                        .file, "\(configURL.path): chat_template list entries need string name and template")
                }
                named.append((name, template))
            }
            if let chosen = named.first(where: { $0.name == "default" })
                ?? (named.count == 1 ? named.first : nil)
            {
                return ChatTemplateFile(
                    template: chosen.template, templateURL: configURL, specialTokens: specialTokens)
            }
            throw TemplateError(
                .file,
                "\(configURL.path): chat_template has no template named 'default' (has: "
                    + named.map(\.name).joined(separator: ", ") + ")")
        default:
            throw TemplateError(
                .file,
                "\(directory.path): no chat template (looked for chat_template.jinja, chat_template.json and "
                    + "chat_template in tokenizer_config.json)")
        }
    }

    /// Parses the template.
    public func renderer() throws(TemplateError) -> ChatTemplateRenderer {
        do {
            return try ChatTemplateRenderer(source: template)
        } catch {
            var located = error
            located.message = "\(templateURL.lastPathComponent): \(error.message)"
            throw located
        }
    }

    /// The input transformers' `apply_chat_template` would render for this model: `messages`, `tools`, the
    /// special tokens (bos/eos and the others as variables) and any extra variables.
    public func input(
        messages: [TemplateValue], addGenerationPrompt: Bool = false, tools: [TemplateValue]? = nil,
        extra: [String: TemplateValue] = [:]
    ) -> ChatTemplateInput {
        ChatTemplateInput(
            messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
            eosToken: eosToken,
            tools: tools, extra: extraVariables.merging(extra) { $1 })
    }

    /// The special tokens other than bos/eos as template variables (for `ChatTemplateInput.extra`).
    public var extraVariables: [String: TemplateValue] {
        specialTokens.filter { $0.key != "bos_token" && $0.key != "eos_token" }.mapValues(
            TemplateValue.string)
    }

    private static func readTextIfPresent(_ url: URL) throws(TemplateError) -> String? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw TemplateError(.file, "\(url.path): \(error.localizedDescription)")
        }
    }

    private static func readJSON(_ url: URL) throws(TemplateError) -> TemplateValue {
        guard let text = try readTextIfPresent(url) else {
            throw TemplateError(.file, "\(url.path): not found")
        }
        do {
            return try TemplateValue(json: text)
        } catch {
            var located = error
            located.message = "\(url.path): \(error.message)"
            throw located
        }
    }
}
