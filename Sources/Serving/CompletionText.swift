/// Turns the growing token list of one completion into text deltas that are safe to stream.
///
/// Two things are held back until they are settled: a trailing U+FFFD (a UTF-8 character whose
/// bytes are split across tokens decodes as a replacement character until its last byte arrives)
/// and a tail that could be the beginning of a stop sequence (OpenAI never shows the stop
/// sequence, so a client must not see half of one either). Works on Unicode scalars, so deltas
/// never split a scalar.
struct CompletionText {
    let stops: [[Unicode.Scalar]]
    /// Scalars already handed out.
    private(set) var emitted: [Unicode.Scalar] = []

    init(stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }.map { Array($0.unicodeScalars) }
    }

    enum Step: Equatable {
        /// More text may follow; `delta` may be empty.
        case more(delta: String)
        /// A stop sequence appeared: `delta` is the last text before it.
        case stopped(delta: String)
    }

    /// `decoded` is the decoding of every token generated so far.
    mutating func advance(decoded: String) -> Step {
        let scalars = Array(decoded.unicodeScalars)
        if let stopAt = firstStop(in: scalars) {
            return .stopped(delta: take(scalars, upTo: stopAt))
        }
        var end = scalars.count
        while end > emitted.count, scalars[end - 1] == "\u{FFFD}" { end -= 1 }
        end -= longestStopPrefix(endingAt: end, in: scalars)
        return .more(delta: take(scalars, upTo: end))
    }

    /// The rest of the text once the completion has ended without a stop sequence.
    mutating func finish(decoded: String) -> String {
        let scalars = Array(decoded.unicodeScalars)
        if let stopAt = firstStop(in: scalars) { return take(scalars, upTo: stopAt) }
        return take(scalars, upTo: scalars.count)
    }

    var text: String { String(String.UnicodeScalarView(emitted)) }

    private mutating func take(_ scalars: [Unicode.Scalar], upTo end: Int) -> String {
        // Already-emitted text is never taken back; decoding is prefix-stable for settled text.
        guard end > emitted.count else { return "" }
        let delta = scalars[emitted.count..<end]
        emitted += delta
        return String(String.UnicodeScalarView(delta))
    }

    /// Start of the earliest stop sequence, searching only where it could overlap new text.
    private func firstStop(in scalars: [Unicode.Scalar]) -> Int? {
        var best: Int?
        for stop in stops {
            let from = max(0, emitted.count - stop.count + 1)
            guard scalars.count >= stop.count, from <= scalars.count - stop.count else { continue }
            for start in from...(scalars.count - stop.count)
            where scalars[start] == stop[0] && scalars[start..<start + stop.count].elementsEqual(stop) {
                if best == nil || start < best! { best = start }
                break
            }
        }
        return best
    }

    /// Length of the longest suffix of `scalars[..<end]` that is a proper prefix of a stop sequence.
    private func longestStopPrefix(endingAt end: Int, in scalars: [Unicode.Scalar]) -> Int {
        var longest = 0
        for stop in stops {
            var length = min(stop.count - 1, end - emitted.count)
            while length > longest {
                if scalars[(end - length)..<end].elementsEqual(stop[0..<length]) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        return longest
    }
}
