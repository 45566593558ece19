import Datasets
import Training
/// The small vocabulary of the built-in demo data, and the sentiment lexicon the verifier uses.
extension DemoTasks {
    /// Short, distinct words for the list tasks (reverse, sort, count, capitals).
    static let listWords = [
        "ant", "bat", "bee", "cat", "cow", "dog", "elk", "fox", "hen", "owl", "pig", "rat", "yak",
        "ball", "book", "box", "cup", "hat", "key", "lamp", "pen", "rug", "sock", "toy", "tree",
        "sun", "moon", "star", "cake", "milk", "egg", "jam",
    ]
    /// Things one can say something nice about.
    static let subjects = [
        "dog", "cat", "park", "garden", "book", "song", "sun", "cake", "river", "teacher", "friend",
        "city", "game", "house", "boat", "bird", "school", "farm", "tree", "moon", "hat", "lamp",
        "room", "team", "shop", "road", "sea", "hill", "dinner", "letter",
    ]
    static let names = ["Tom", "Ann", "Sam", "Mia", "Ben", "Lily", "Max", "Eva", "Leo", "Zoe"]
    static let colors = ["red", "blue", "green", "yellow", "black", "white", "brown", "pink"]
    static let animals = [
        "cat", "dog", "fox", "owl", "bird", "fish", "cow", "pig", "hen", "bee", "duck", "frog",
    ]
    static let objects = [
        "ball", "book", "box", "cup", "hat", "kite", "lamp", "pen", "toy", "boat", "car", "bag",
    ]
    static let places = [
        "park", "garden", "house", "river", "city", "school", "farm", "shop", "forest", "hill",
    ]
    static let neutralAdjectives = [
        "big", "small", "old", "new", "fast", "slow", "tall", "round", "soft", "loud",
    ]

    /// Words that make a sentence positive; used by the verifier (and so by the labeler).
    public static let positiveWords: Set<String> = [
        "good", "great", "nice", "happy", "kind", "lovely", "fun", "bright", "warm", "sweet", "glad",
        "best", "wonderful", "friendly", "calm", "beautiful", "love", "loves", "like", "likes",
        "enjoy", "enjoys", "smile", "smiles", "fine", "cheerful",
    ]
    /// Words that make a sentence negative.
    public static let negativeWords: Set<String> = [
        "bad", "sad", "awful", "mean", "dull", "cold", "ugly", "poor", "angry", "terrible", "worst",
        "broken", "hate", "hates", "dirty", "boring", "cry", "cries", "gloomy", "nasty",
    ]

    static let positiveAdjectives = [
        "good", "great", "nice", "happy", "kind", "lovely", "fun", "bright", "warm", "sweet", "friendly",
        "calm",
    ]
    static let negativeAdjectives = [
        "bad", "sad", "awful", "mean", "dull", "cold", "ugly", "poor", "angry", "boring", "gloomy", "dirty",
    ]

    /// Positive replies for the sentiment task ({s} is the subject); each ≤ ~10 tokens.
    static let positiveReplies = [
        "The {s} is very nice.", "I love the {s}. It is great.", "The {s} is happy and kind.",
        "What a lovely {s}!", "The {s} makes me glad.", "I like the {s} a lot.",
        "The {s} is the best.", "The {s} is warm and fun.",
    ]
    /// Sentences about a subject used in stories, either sentiment.
    static let negativeReplies = [
        "The {s} is bad.", "I hate the {s}. It is dull.", "The {s} is sad and cold.",
        "What an awful {s}!", "The {s} makes me angry.", "The {s} is the worst.",
    ]
}
