import Datasets
import Foundation
import Models
import TensorCore
import Testing
import Tokenizers
@testable import Training

/// Published-model chat formats against what `transformers` makes of the same conversations
/// (fixtures from scripts/make-chat-fixtures.py: a tiny Llama with a Llama 3 tokenizer and
/// template in bf16, a tiny tied Qwen2 with a Qwen2 tokenizer and the Qwen2.5 template).
enum ChatFixture {
    static let cases = ["llama3", "qwen2"]

    static func directory(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/chat/\(name)")
    }

    struct Conversation: Decodable {
        var messages: [ChatMessage]
        var text: String
        var ids: [Int32]
        var mask: [Int]
        var prompt_ids: [Int32]
    }

    struct Expected: Decodable {
        var end_of_turn: Int32
        var eos_ids: [Int32]
        var conversations: [Conversation]
    }

    static func expected(_ name: String) throws -> Expected {
        try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: directory(name).appendingPathComponent("expected.json")))
    }

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("chat-\(UUID().uuidString)")
    }
}

@Test(arguments: ChatFixture.cases)
func templateRenderingMatchesTransformersIdsAndMasks(_ name: String) throws {
    let format = try ConversationFormat.load(directory: ChatFixture.directory(name))
    guard case .template(let jinja) = format else {
        Issue.record("\(name): not read as a Jinja template"); return
    }
    let expected = try ChatFixture.expected(name)
    #expect(format.endOfTurnID == expected.end_of_turn)
    #expect(Set(expected.eos_ids).isSubset(of: format.stopTokens))
    #expect(!format.stopTokens.contains(try format.padToken()))
    for c in expected.conversations {
        let (text, chat) = try jinja.render(c.messages)
        #expect(text == c.text)
        #expect(chat.tokens == c.ids)
        #expect(chat.lossMask.map { $0 ? 1 : 0 } == c.mask)
        let last = c.messages.lastIndex { $0.role == .assistant }!
        #expect(try format.prompt(Array(c.messages[..<last])) == c.prompt_ids)
        // The completion is the full rendering's tokens after the prompt's, through end-of-turn.
        let completion = try format.completion(after: Array(c.messages[..<last]), c.messages[last].content)
        let lastTrained = c.mask.lastIndex(of: 1)!
        #expect(completion == Array(c.ids[c.prompt_ids.count...lastTrained]))
        #expect(completion.last == expected.end_of_turn)
    }
}

@Test(arguments: ChatFixture.cases)
func stageDataOfAPublishedModelTrainsOnTheTemplatesAssistantTokens(_ name: String) throws {
    let run = try ModelRun.load(RunDirectory(ChatFixture.directory(name)))
    let data = try StageData(run: run)
    let expected = try ChatFixture.expected(name)
    let c = expected.conversations[1]
    let chat = try data.rendered(.conversation(c.messages))
    let lastTrained = c.mask.lastIndex(of: 1)!
    // Rows end on the end-of-turn token: the separator after it is never a target.
    #expect(chat.tokens == Array(c.ids[...lastTrained]))
    #expect(chat.lossMask.map { $0 ? 1 : 0 } == Array(c.mask[...lastTrained]))
    #expect(data.endOfTurn == expected.end_of_turn)
}

@Test func sftOnAPublishedModelLowersTheLossAndLearnsToEndItsTurn() throws {
    let run = try ModelRun.load(RunDirectory(ChatFixture.directory("llama3")))
    #expect(run.model.config.storageDType == .bfloat16)
    let data = try StageData(run: run)
    let messages = [
        ChatMessage(role: .user, content: "What is 2+2?"), ChatMessage(role: .assistant, content: "4"),
    ]
    let row = try data.rendered(.conversation(messages))
    var p = SupervisedFineTuning.Parameters()
    p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 30)
    p.batchSize = 2
    let history = try SupervisedFineTuning.train(
        model: run.model, examples: [row, row], padToken: data.padToken, parameters: p)
    let first = history[0]["loss"]!, last = history.last!["loss"]!
    #expect(last < first * 0.5, "loss \(first) → \(last)")

    // Greedy generation from the template's prompt stops on the template's end-of-turn token.
    let prompt = try data.format.prompt(Array(messages.prefix(1)))
    var rng = RandomGenerator(seed: 0)
    let options = SamplingOptions(temperature: 0, maxNewTokens: 12, stopTokens: data.stopTokens)
    let generated = run.model.generate(prompts: [prompt], options: options, rng: &rng)[0]
    #expect(generated.finished && generated.tokens.last == data.endOfTurn, "\(generated.tokens)")
    #expect(data.text(of: generated.tokens) == "4")
}

@Test func dpoOnAPublishedModelRunsAStepOnTemplateTokens() throws {
    let run = try ModelRun.load(RunDirectory(ChatFixture.directory("qwen2")))
    let data = try StageData(run: run)
    let url = StageDataFixture.file([
        #"{"prompt": "Name a colour.", "chosen": "Blue.", "rejected": "Seven."}"#
    ])
    let rows = try data.comparisons(from: url)
    let pairs = StageData.preferencePairs(rows.rows)
    #expect(pairs[0].chosen.last == data.endOfTurn && pairs[0].rejected.last == data.endOfTurn)
    #expect(
        pairs[0].prompt == (try data.format.prompt([ChatMessage(role: .user, content: "Name a colour.")])))
    var p = PreferenceTraining.Parameters()
    p.optimization = OptimizationSettings(learningRate: 1e-3, steps: 1)
    let before = run.model.parameters[0].value
    let history = try PreferenceTraining.train(
        policy: run.model, reference: try run.model.copy(), pairs: pairs,
        padToken: data.padToken, parameters: p)
    #expect(history.count == 1 && history[0]["loss"]!.isFinite)
    #expect(run.model.parameters[0].value != before)
}

@Test func aPublishedModelIsSavedWithItsTokenizerTemplateAndDType() throws {
    let source = ChatFixture.directory("llama3")
    let run = try ModelRun.load(RunDirectory(source))
    let out = ChatFixture.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: out) }
    try run.derived(directory: RunDirectory(out), model: run.model).save()
    for name in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"] {
        #expect(
            try Data(contentsOf: out.appendingPathComponent(name))
                == Data(contentsOf: source.appendingPathComponent(name)),
            "\(name) not copied")
    }
    let config =
        try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json")))
        as! [String: Any]
    #expect(config["model_type"] as? String == "llama")
    let reloaded = try ModelRun.load(RunDirectory(out))
    #expect(reloaded.model.config.storageDType == .bfloat16)  // auto keeps the input's dtype
    guard case .template = reloaded.format else { Issue.record("format lost on save"); return }
    for (a, b) in zip(reloaded.model.parameters, run.model.parameters) { #expect(a.value == b.value) }

    let f32 = ChatFixture.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: f32) }
    try run.derived(directory: RunDirectory(f32), model: run.model).save(dtype: .float32)
    #expect(try ModelRun.load(RunDirectory(f32)).model.config.storageDType == .float32)
}

@Test func ourOwnChatMLRunsKeepTheChatMLFormat() throws {
    let tokenizer = StageDataFixture.tokenizer
    let out = ChatFixture.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: out) }
    let model = try Transformer(
        config: ModelConfig(
            family: .llama, vocabSize: tokenizer.vocabularySize, hiddenSize: 16,
            layerCount: 1, headCount: 2, contextLength: 32), seed: 1)
    try ModelRun(directory: RunDirectory(out), model: model, tokenizer: tokenizer).save()
    let run = try ModelRun.load(RunDirectory(out))
    guard case .chatML = run.format else { Issue.record("our run was not read as ChatML"); return }
    let data = try StageData(run: run)
    #expect(data.padToken == tokenizer.specialTokenID(SpecialTokens.pad))
    #expect(data.endOfTurn == tokenizer.specialTokenID(SpecialTokens.imEnd))
}
