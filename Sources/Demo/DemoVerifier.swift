import Datasets
import Foundation
import Training

/// A verifier's judgement of one response.
public struct DemoScore: Sendable, Equatable {
    /// The response solves the task exactly.
    public var correct: Bool
    /// Partial credit in [0, 1] (1 for a perfect response), so near-misses rank above nonsense.
    public var quality: Double

    public init(correct: Bool, quality: Double) {
        self.correct = correct
        self.quality = quality
    }
}

/// Checks responses to the demo tasks, recomputing the answer from the prompt itself.
public enum DemoVerifier {
    /// Scores `response` to a prompt of `task`. A prompt that does not parse as `task` scores 0.
    public static func score(task: DemoTask, prompt: String, response: String) -> DemoScore {
        let text = response.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return DemoScore(correct: false, quality: 0) }
        switch task {
        case .reverse, .sort:
            let prefix = task == .reverse ? DemoTasks.reversePrefix : DemoTasks.sortPrefix
            guard prompt.hasPrefix(prefix) else { return DemoScore(correct: false, quality: 0) }
            let words = prompt.dropFirst(prefix.count).split(separator: " ").map(String.init)
            let expected = task == .reverse ? Array(words.reversed()) : words.sorted()
            return scoreWordList(expected: expected, response: text)
        case .count:
            guard prompt.hasPrefix(DemoTasks.countPrefix) else {
                return DemoScore(correct: false, quality: 0)
            }
            return scoreNumber(
                expected: prompt.dropFirst(DemoTasks.countPrefix.count).split(separator: " ").count,
                response: text)
        case .add:
            let body = prompt.dropFirst(DemoTasks.addPrefix.count).dropLast()  // "3 plus 5"
            let operands = body.components(separatedBy: " plus ").compactMap { Int($0) }
            guard prompt.hasPrefix(DemoTasks.addPrefix), prompt.hasSuffix("?"), operands.count == 2 else {
                return DemoScore(correct: false, quality: 0)
            }
            return scoreNumber(expected: operands[0] + operands[1], response: text)
        case .capitals:
            guard prompt.hasPrefix(DemoTasks.capitalsPrefix) else {
                return DemoScore(correct: false, quality: 0)
            }
            let expected = Array(prompt.dropFirst(DemoTasks.capitalsPrefix.count).uppercased())
            let got = Array(stripPeriod(text))
            let matches = zip(expected, got).filter { $0 == $1 }.count
            let quality = Double(matches) / Double(max(expected.count, got.count))
            return DemoScore(correct: got == expected, quality: quality)
        case .sentiment:
            guard let subject = DemoTasks.sentimentSubject(prompt) else {
                return DemoScore(correct: false, quality: 0)
            }
            let words = text.lowercased().split { !$0.isLetter }.map(String.init)
            let mentions = words.contains(subject)
            let positive = words.filter { DemoTasks.positiveWords.contains($0) }.count
            let negative = words.filter { DemoTasks.negativeWords.contains($0) }.count
            var quality = (mentions ? 0.4 : 0) + 0.6 * min(max(Double(positive - negative) / 2, 0), 1)
            if words.count > 15 { quality *= 0.5 }  // rambling is worse than a short kind sentence
            return DemoScore(correct: mentions && positive >= 1 && negative == 0, quality: quality)
        }
    }

    /// Scores a demo prompt whose task is recognised from its text; nil if it is not a demo prompt.
    public static func score(prompt: String, response: String) -> DemoScore? {
        DemoTasks.task(of: prompt).map { score(task: $0, prompt: prompt, response: response) }
    }

    private static func stripPeriod(_ text: String) -> String {
        text.hasSuffix(".") ? String(text.dropLast()).trimmingCharacters(in: .whitespaces) : text
    }

    /// Exact order for correctness; credit for words in the right place and for the right words.
    private static func scoreWordList(expected: [String], response: String) -> DemoScore {
        let got = stripPeriod(response).lowercased().split { $0 == " " || $0 == "," || $0 == "\n" }.map(
            String.init)
        let length = Double(max(expected.count, got.count))
        let inPlace = Double(zip(expected, got).filter { $0 == $1 }.count)
        var remaining = expected
        var common = 0
        for word in got { if let i = remaining.firstIndex(of: word) { remaining.remove(at: i); common += 1 } }
        let quality = 0.5 * inPlace / length + 0.5 * Double(common) / length
        return DemoScore(correct: got == expected, quality: quality)
    }

    /// A bare number is required; a number among other words gets half credit.
    private static func scoreNumber(expected: Int, response: String) -> DemoScore {
        let text = stripPeriod(response)
        if let value = Int(text) {
            return DemoScore(correct: value == expected, quality: 1 / (1 + Double(abs(value - expected))))
        }
        if let value = text.split(whereSeparator: { !$0.isNumber }).compactMap({ Int($0) }).first {
            return DemoScore(correct: false, quality: 0.5 / (1 + Double(abs(value - expected))))
        }
        return DemoScore(correct: false, quality: 0)
    }
}

/// The demo verifier as GRPO's reward (`rlhf grpo --verifier demo`): 1 for a correct answer to
/// a built-in demo task, else 0; nil for a prompt that is not a demo task.
public struct DemoTaskVerifier: Verifier {
    public init() {}
    public var name: String { "demo" }
    public func reward(_ record: PromptRecord, response: String) -> Double? {
        DemoVerifier.score(prompt: record.prompt, response: response).map { $0.correct ? 1 : 0 }
    }
}
