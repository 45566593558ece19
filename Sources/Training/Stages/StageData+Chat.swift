import Datasets
import Foundation
import Templates
import Tokenizers

extension StageData {
    /// An SFT example rendered for training: loss on the assistant's tokens (each assistant
    /// turn's content and its closing end-of-turn token: `<|im_end|>`, or what the model's template
    /// writes), nothing after the last trained token.
    public func rendered(_ example: SFTExample) throws(RecordProblem) -> RenderedChat {
        var chat = try rendering("messages") { () throws(TemplateError) in try format.render(example.messages)
        }
        // The separator after the last end-of-turn token ("\n") is never a target: drop it (and
        // any trailing non-assistant turn) so rows end on the end-of-turn token.
        guard let last = chat.lossMask.lastIndex(of: true) else {
            throw RecordProblem(field: "messages", reason: "no assistant tokens to learn from")
        }
        chat.tokens.removeSubrange((last + 1)...)
        chat.lossMask.removeSubrange((last + 1)...)
        switch example {
        case .promptCompletion(let prompt, _):
            // Name the field that overflows: the prompt alone, or the completion after it.
            try requireFits(try promptTokens(prompt).count + 1, field: "prompt", what: "the rendered prompt")
            try requireFits(chat.tokens.count, field: "completion", what: "prompt + completion")
        case .conversation:
            try requireFits(chat.tokens.count, field: "messages", what: "the rendered conversation")
        }
        return chat
    }

    /// Reads SFT records (`{"prompt","completion"}` or `{"messages"}`) and renders them.
    public func sftExamples(from url: URL, options: LoadOptions = .strict) throws -> StageRows<RenderedChat> {
        let loaded = try SFTExample.load(from: url, options: LoadOptions(lenient: true))
        return try Self.convert(loaded, file: url, options: options) {
            (e: SFTExample) throws(RecordProblem) in try rendered(e)
        }
    }
}
