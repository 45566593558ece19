import Datasets
import Foundation
import Training

/// The demo's pretraining corpus: short templated stories over a small word list, mixed with
/// the demo tasks written out in a plain question/answer form (not the chat template), so the
/// base model already knows the skills a little before SFT teaches the chat format.
extension DemoTasks {
    /// Documents totalling about `byteCount` bytes of UTF-8; a pure function of `seed`.
    /// `taskFraction` of the documents are task passages (training prompts only, never held-out ones).
    public static func pretrainingDocuments(
        seed: UInt64, byteCount: Int = 2_000_000, taskFraction: Double = 0.2
    ) -> [String] {
        var rng = SplitMix64(seed: seed ^ 0xC0_4B05)
        var documents: [String] = []
        var total = 0
        while total < byteCount {
            let document = rng.uniform() < taskFraction ? taskPassage(&rng) : story(&rng)
            total += document.utf8.count + 2
            documents.append(document)
        }
        return documents
    }

    /// The documents joined by blank lines.
    public static func pretrainingText(seed: UInt64, byteCount: Int = 2_000_000, taskFraction: Double = 0.2)
        -> String
    {
        pretrainingDocuments(seed: seed, byteCount: byteCount, taskFraction: taskFraction).joined(
            separator: "\n\n") + "\n"
    }

    /// A few training-part task instances as "Question: …\nAnswer: …" lines.
    static func taskPassage(_ rng: inout SplitMix64) -> String {
        var lines: [String] = []
        for _ in 0..<rng.int(1...3) {
            let task = rng.pick(DemoTask.allCases)
            var example = randomExample(task, &rng)
            while isHeldOut(example.prompt) { example = randomExample(task, &rng) }
            lines.append("Question: \(example.prompt)\nAnswer: \(example.answer)")
        }
        return lines.joined(separator: "\n")
    }

    /// A story of 3–7 sentences about one person, one animal, one thing and one place, whose
    /// mood is mostly consistent (so sentiment words co-occur the way they do in text).
    static func story(_ rng: inout SplitMix64) -> String {
        let name = rng.pick(names)
        var friend = rng.pick(names)
        while friend == name { friend = rng.pick(names) }
        let pronoun = ["Tom", "Sam", "Ben", "Max", "Leo"].contains(name) ? "He" : "She"
        let animal = rng.pick(animals), object = rng.pick(objects), place = rng.pick(places)
        let color = rng.pick(colors)
        let happy = rng.uniform() < 0.6
        func mood(_ rng: inout SplitMix64) -> String {
            rng.pick(happy != (rng.uniform() < 0.1) ? positiveAdjectives : negativeAdjectives)
        }
        var sentences: [String] = []
        for _ in 0..<rng.int(3...7) {
            switch rng.int(0...12) {
            case 0: sentences.append("\(name) has a \(color) \(object).")
            case 1: sentences.append("\(name) sees a \(animal) in the \(place).")
            case 2: sentences.append("The \(animal) is \(mood(&rng)).")
            case 3: sentences.append("\(pronoun) is \(mood(&rng)) today.")
            case 4: sentences.append("It was a \(mood(&rng)) day at the \(place).")
            case 5: sentences.append("\(name) and \(friend) go to the \(place).")
            case 6: sentences.append("The \(object) is \(rng.pick(neutralAdjectives)) and \(color).")
            case 7:
                let verb =
                    happy
                    ? rng.pick(["likes", "loves", "finds", "holds"])
                    : rng.pick(["hates", "loses", "drops", "breaks"])
                sentences.append("\(pronoun) \(verb) the \(object).")
            case 8:
                let a = rng.int(0...20), b = rng.int(0...20)
                sentences.append(
                    "\(name) had \(a) \(object)s and got \(b) more, so \(pronoun.lowercased()) had \(a + b).")
            case 9:
                var words = listWords
                rng.shuffle(&words)
                let list = Array(words.prefix(rng.int(2...5)))
                sentences.append(
                    "\(friend) wrote \(list.count) words: \(list.joined(separator: " ")). "
                        + "Backwards they read \(list.reversed().joined(separator: " ")).")
            case 10:
                let subject = rng.uniform() < 0.5 ? rng.pick(subjects) : rng.pick([animal, object, place])
                sentences.append(
                    rng.pick(happy ? positiveReplies : negativeReplies).replacingOccurrences(
                        of: "{s}", with: subject))
            case 11: sentences.append("\(name) tells \(friend) about the \(rng.pick(subjects)).")
            default: sentences.append("\(friend) says the \(place) is \(mood(&rng)).")
            }
        }
        return sentences.joined(separator: " ")
    }
}
