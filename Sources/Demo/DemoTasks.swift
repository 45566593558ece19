import Datasets
import Foundation
import Training
import Tokenizers

/// The built-in tasks of `rlhf demo`: short instructions with answers a program can check.
///
/// Every response is a few words (≤ ~12 tokens), so a tiny transformer learns the tasks in a
/// minute of SFT, but not perfectly, which leaves room for the reward model, PPO, DPO and GRPO
/// to improve them measurably. Prompts are split into a training part and a held-out part by a
/// hash of the prompt text (`isHeldOut`), so evaluation prompts never appear in the
/// pretraining corpus, the SFT set or the RL prompts.
public enum DemoTask: String, CaseIterable, Sendable, Codable, Hashable {
    /// "Reverse the words: cat dog fox" → "fox dog cat" (2–5 words).
    case reverse
    /// "Sort the words: pig ant cow" → "ant cow pig" (2–5 words, alphabetical).
    case sort
    /// "Count the words: cat dog fox" → "3" (1–6 words).
    case count
    /// "What is 3 plus 5?" → "8" (operands 0–20).
    case add
    /// "Write in capital letters: fox owl" → "FOX OWL" (an exact output format).
    case capitals
    /// "Say something nice about the park." → any sentence that mentions the park, uses a
    /// positive word of the lexicon and no negative one.
    case sentiment
}

/// One instance of a demo task with a reference answer.
public struct DemoExample: Sendable, Equatable, Hashable {
    public var task: DemoTask
    public var prompt: String
    /// A correct response (for the sentiment task, one of many).
    public var answer: String

    public init(task: DemoTask, prompt: String, answer: String) {
        self.task = task
        self.prompt = prompt
        self.answer = answer
    }

    /// The example in chat form: the prompt from the user, the answer from the assistant.
    public var messages: [ChatMessage] {
        [ChatMessage(role: .user, content: prompt), ChatMessage(role: .assistant, content: answer)]
    }
}

/// Generators of the demo data; every function is a pure function of its seed.
public enum DemoTasks {
    static let reversePrefix = "Reverse the words: "
    static let sortPrefix = "Sort the words: "
    static let countPrefix = "Count the words: "
    static let addPrefix = "What is "
    static let capitalsPrefix = "Write in capital letters: "
    static let sentimentTemplates = [
        "Say something nice about the {s}.", "Write a happy sentence about the {s}.",
        "Tell me something good about the {s}.",
    ]

    /// Percentage of the prompt space held out for evaluation.
    public static let heldOutPercent: UInt64 = 10

    /// Whether `prompt` belongs to the held-out evaluation part (by a stable hash of its text).
    public static func isHeldOut(_ prompt: String) -> Bool {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in prompt.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h % 100 < heldOutPercent
    }

    /// A random instance of `task` (from either part of the prompt space).
    static func randomExample(_ task: DemoTask, _ rng: inout SplitMix64) -> DemoExample {
        func distinctWords(_ range: ClosedRange<Int>) -> [String] {
            var words = listWords
            rng.shuffle(&words)
            return Array(words.prefix(rng.int(range)))
        }
        switch task {
        case .reverse:
            let words = distinctWords(2...5)
            return DemoExample(
                task: task, prompt: reversePrefix + words.joined(separator: " "),
                answer: words.reversed().joined(separator: " "))
        case .sort:
            let words = distinctWords(2...5)
            return DemoExample(
                task: task, prompt: sortPrefix + words.joined(separator: " "),
                answer: words.sorted().joined(separator: " "))
        case .count:
            let words = distinctWords(1...6)
            return DemoExample(
                task: task, prompt: countPrefix + words.joined(separator: " "), answer: "\(words.count)")
        case .add:
            let a = rng.int(0...20), b = rng.int(0...20)
            return DemoExample(task: task, prompt: "\(addPrefix)\(a) plus \(b)?", answer: "\(a + b)")
        case .capitals:
            let words = distinctWords(1...2)
            return DemoExample(
                task: task, prompt: capitalsPrefix + words.joined(separator: " "),
                answer: words.joined(separator: " ").uppercased())
        case .sentiment:
            let subject = rng.pick(subjects)
            let prompt = rng.pick(sentimentTemplates).replacingOccurrences(of: "{s}", with: subject)
            return DemoExample(
                task: task, prompt: prompt,
                answer: rng.pick(positiveReplies).replacingOccurrences(of: "{s}", with: subject))
        }
    }

    /// `count` examples from one part of the prompt space, tasks in turn (`tasks` order).
    /// Training examples may repeat a prompt (with another sentiment reply); held-out ones are
    /// distinct and may be fewer than asked when a task's held-out space is small.
    static func examples(seed: UInt64, count: Int, heldOut: Bool, tasks: [DemoTask], distinct: Bool)
        -> [DemoExample]
    {
        precondition(!tasks.isEmpty, "no tasks")
        var rng = SplitMix64(seed: seed)
        var result: [DemoExample] = []
        var seen = Set<String>()
        var exhausted = Set<DemoTask>()
        var i = 0
        while result.count < count, exhausted.count < tasks.count {
            let task = tasks[i % tasks.count]
            i += 1
            if exhausted.contains(task) { continue }
            var attempts = 0
            while true {
                attempts += 1
                let example = randomExample(task, &rng)
                if isHeldOut(example.prompt) == heldOut, !distinct || seen.insert(example.prompt).inserted {
                    result.append(example)
                    break
                }
                if attempts > 2_000 { exhausted.insert(task); break }
            }
        }
        return result
    }

    /// Supervised fine-tuning examples (training part), tasks in turn.
    public static func sftExamples(seed: UInt64, count: Int, tasks: [DemoTask] = DemoTask.allCases)
        -> [DemoExample]
    {
        examples(seed: seed ^ 0x5F7, count: count, heldOut: false, tasks: tasks, distinct: false)
    }

    /// Distinct held-out evaluation prompts, up to `countPerTask` per task, grouped by task.
    public static func evaluationExamples(
        seed: UInt64, countPerTask: Int, tasks: [DemoTask] = DemoTask.allCases
    ) -> [DemoExample] {
        tasks.flatMap {
            examples(
                seed: seed ^ 0xE7A1 ^ UInt64($0.hashSeed), count: countPerTask, heldOut: true, tasks: [$0],
                distinct: true)
        }
    }

    /// Prompts (training part) with reference answers for on-policy training (PPO, GRPO); the
    /// verifier scores responses without needing the answer.
    public static func rlPrompts(seed: UInt64, count: Int, tasks: [DemoTask] = DemoTask.allCases)
        -> [PromptRecord]
    {
        examples(seed: seed ^ 0x6A90, count: count, heldOut: false, tasks: tasks, distinct: false)
            .map { PromptRecord(prompt: $0.prompt, answer: $0.answer) }
    }

    /// The task a prompt was made from, recognised from its template; nil for other prompts.
    public static func task(of prompt: String) -> DemoTask? {
        if prompt.hasPrefix(reversePrefix) { return .reverse }
        if prompt.hasPrefix(sortPrefix) { return .sort }
        if prompt.hasPrefix(countPrefix) { return .count }
        if prompt.hasPrefix(addPrefix), prompt.contains(" plus ") { return .add }
        if prompt.hasPrefix(capitalsPrefix) { return .capitals }
        if sentimentSubject(prompt) != nil { return .sentiment }
        return nil
    }

    static func sentimentSubject(_ prompt: String) -> String? {
        for template in sentimentTemplates {
            let parts = template.components(separatedBy: "{s}")
            if prompt.hasPrefix(parts[0]), prompt.hasSuffix(parts[1]),
                prompt.count > parts[0].count + parts[1].count
            {
                return String(prompt.dropFirst(parts[0].count).dropLast(parts[1].count))
            }
        }
        return nil
    }
}

extension DemoTask {
    /// A small stable number per task (Swift's `hashValue` changes between runs).
    var hashSeed: Int { DemoTask.allCases.firstIndex(of: self)! &* 7919 }
}
