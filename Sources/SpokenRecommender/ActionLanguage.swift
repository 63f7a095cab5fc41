import Recommender
import Foundation
import Tensor
import Text

// Natural language for CRS actions: the action -> sentence pairs the dialogue model is
// trained on, and slot filling of real attribute and artist names after decoding.
//
// A pair's source is a delexicalised action with the user's previous answer as context, e.g.
//   "start ask genre xattr"     -> "do you like xattr music ?"
//   "no ask era xattr"          -> "no worries . are you into music from the xattr ?"
//   "yes recommend xitem"       -> "great ! you should listen to xitem ."
// and the decoded sentence gets its placeholder replaced by the name ("rock", "Coldplay, Muse or Keane").
//
// Design notes
// - Delexicalised, not name tokens: lastfm has 7,282 artist names (436 non-ASCII, most of them absent from
//   GloVe and the word vocabulary) and the Seq2Seq has no copy mechanism, so generating names would garble
//   them; a placeholder the model learns to emit once, then string replacement, renders every name exactly
//   (`SlotFiller`, tested on every attribute and a sample of artists).
// - Targets are mined from real Persona-Chat utterances (ConvAI2 valid, Synthetic-Persona-Chat): sentences
//   whose frame asks about a preference ("do you like X ?", "are you a fan of X ?") or recommends something
//   ("you should check out X .", "have you heard of X ?"), with the noun phrase X replaced by the
//   placeholder; hand-written templates add frames the corpus lacks (eras, artist lists). Every frame is
//   paired with each answer context, prefixed by an acknowledgement of that answer.
// - The held-out split is by frame (a frame's pairs are all train or all held-out), so held-out perplexity
//   and BLEU measure unseen phrasings, not memorised ones.

/// Placeholder words the dialogue model emits where a name belongs.
public enum ActionSlot {
    public static let attribute = "xattr"
    public static let item = "xitem"
    public static let all = [attribute, item]
}

/// What the user said last, as context for the next system sentence.
public enum AnswerContext: String, CaseIterable, Codable, Sendable {
    case start, yes, no

    /// A short conversation ending in this kind of answer, for a speaker (which reads the conversation, not the context).
    public var exampleHistory: [String] {
        switch self {
        case .start: return ["hi ! can you recommend some music ?"]
        case .yes: return ["i'd like some rock music .", "do you like pop ?", "yes , i love pop ."]
        case .no: return ["hello , i am looking for new music .", "are you into jazz ?", "nope , not my thing ."]
        }
    }
}

/// The delexicalised kinds of action the language model renders.
public enum ActionKind: String, CaseIterable, Codable, Sendable {
    case askGenre = "ask genre"
    case askEra = "ask era"
    case recommend = "recommend"

    /// The placeholder a sentence of this kind must carry.
    public var slot: String { self == .recommend ? ActionSlot.item : ActionSlot.attribute }

    /// The kind of `action` in `dataset`: attributes named like a decade ("60s", "00s") are eras.
    public static func of(_ action: CRSAction, in dataset: CRSDataset) -> ActionKind {
        switch action {
        case .ask(let a): return isEra(dataset.attributeLabel(a)) ? .askEra : .askGenre
        case .recommend: return .recommend
        }
    }

    static func isEra(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        return scalars.count == 3 && scalars[2] == "s" && scalars[0].properties.numericType != nil
            && scalars[1].properties.numericType != nil
    }
}

/// The encoder input of one action: "<context> <kind> <slot>".
public func actionSource(_ kind: ActionKind, context: AnswerContext) -> String {
    "\(context.rawValue) \(kind.rawValue) \(kind.slot)"
}

/// Replaces placeholders by names and checks that a sentence carries the right ones.
public enum SlotFiller {
    /// The text an action's slot becomes: the attribute's name, or the first `listed` item names
    /// ("A", "A or B", "A, B or C").
    public static func slotText(_ action: CRSAction, dataset: CRSDataset, listed: Int = 3) -> String {
        switch action {
        case .ask(let a): return dataset.attributeLabel(a)
        case .recommend(let items):
            let names = items.prefix(listed).map(dataset.itemLabel)
            guard names.count > 1 else { return names.first ?? "" }
            return names.dropLast().joined(separator: ", ") + " or " + names.last!
        }
    }

    /// The names a rendered sentence of `action` must contain.
    public static func requiredNames(_ action: CRSAction, dataset: CRSDataset, listed: Int = 3) -> [String] {
        switch action {
        case .ask(let a): return [dataset.attributeLabel(a)]
        case .recommend(let items): return items.prefix(listed).map(dataset.itemLabel)
        }
    }

    /// True when the delexicalised token sequence holds exactly one `kind.slot` and no other placeholder.
    public static func isWellFormed(_ tokens: [String], kind: ActionKind) -> Bool {
        tokens.filter { $0 == kind.slot }.count == 1 && !tokens.contains { ActionSlot.all.contains($0) && $0 != kind.slot }
    }

    /// Detokenises `tokens` (capitalised) and puts `text` where the placeholder is.
    public static func fill(_ tokens: [String], text: String) -> String {
        let sentence = Tokenizer().detokenize(tokens, capitalize: true)
        var out = sentence
        for slot in ActionSlot.all {
            out = out.replacingOccurrences(of: slot, with: text)
            out = out.replacingOccurrences(of: slot.prefix(1).uppercased() + slot.dropFirst(), with: text)
        }
        return out
    }

    /// Does `sentence` contain every required name (exactly as the dataset writes it)?
    public static func carriesNames(_ sentence: String, _ names: [String]) -> Bool {
        names.allSatisfy { sentence.contains($0) }
    }
}

/// One training pair: source and target as text (target tokens joined by spaces).
public struct ActionPair: Equatable, Sendable {
    public var kind: ActionKind
    public var context: AnswerContext
    public var source: String
    public var target: String
    /// The frame (target without the acknowledgement) the pair was built from; the split is by frame.
    public var frame: String
    /// "mined" (a Persona-Chat sentence) or "template".
    public var origin: String
}

/// A frame with where it came from.
public struct ActionFrame: Equatable, Sendable {
    public var kinds: [ActionKind]
    public var tokens: [String]
    public var origin: String
    public var text: String { tokens.joined(separator: " ") }
}

/// Counts printed by `paml recommend train-language` and written into the checkpoint card.
public struct ActionPairStatistics: Equatable, Sendable, CustomStringConvertible {
    public var utterances = 0
    public var minedAskSentences = 0
    public var minedRecommendSentences = 0
    public var distinctMinedFrames = 0
    public var templateFrames = 0
    public var trainPairs = 0
    public var heldOutPairs = 0
    public var heldOutFrames = 0

    public var description: String {
        "\(utterances) utterances scanned; mined \(minedAskSentences) ask and \(minedRecommendSentences) recommend "
            + "sentences (\(distinctMinedFrames) distinct frames); \(templateFrames) template frames; "
            + "pairs train \(trainPairs), held-out \(heldOutPairs) (\(heldOutFrames) held-out frames)"
    }
}

/// Builds action -> sentence pairs from real utterances plus templates, deterministically under a seed.
public struct ActionPairMiner: Sendable {
    public var seed: UInt64
    /// Copies of one mined frame kept (its frequency still weighs, up to this).
    static let maxCopies = 4
    /// Fraction of distinct frames held out.
    public var heldOutFraction: Double

    public init(seed: UInt64 = 1, heldOutFraction: Double = 0.15) {
        self.seed = seed
        self.heldOutFraction = heldOutFraction
    }

    /// Question frames that ask for a preference: the phrase, then a noun phrase of 1-3 words, then an
    /// optional "music", then "?".
    static let askPatterns: [[String]] = [
        ["do", "you", "like"], ["do", "you", "enjoy"], ["do", "you", "love"], ["do", "you", "listen", "to"],
        ["are", "you", "a", "fan", "of"], ["are", "you", "into"], ["have", "you", "ever", "listened", "to"],
        ["what", "do", "you", "think", "of"], ["what", "do", "you", "think", "about"], ["how", "about"],
        ["what", "about"], ["do", "you", "like", "listening", "to"],
    ]
    /// Recommendation frames: the phrase, then a noun phrase of 1-4 words, then ".", "!" or "?".
    static let recommendPatterns: [[String]] = [
        ["you", "should", "listen", "to"], ["you", "should", "check", "out"], ["you", "should", "try"],
        ["i", "recommend"], ["i", "would", "recommend"], ["i'd", "recommend"], ["you", "might", "like"],
        ["you", "might", "enjoy"], ["have", "you", "heard", "of"], ["have", "you", "ever", "heard", "of"],
        ["ever", "heard", "of"], ["you", "would", "love"], ["you'd", "love"], ["you", "will", "love"],
        ["you", "would", "like"], ["you'd", "like"], ["you", "should", "give"], ["have", "you", "tried"],
        ["you", "have", "to", "hear"], ["you", "should", "look", "up"], ["you", "must", "listen", "to"],
        ["i", "suggest"], ["you", "have", "to", "try"], ["you", "should", "definitely", "try"],
        ["you", "should", "definitely", "check", "out"], ["i", "highly", "recommend"],
    ]
    /// Words that cannot start the replaced noun phrase (pronouns, infinitives, question words ...).
    static let badNounStarts: Set<String> = [
        "to", "it", "them", "that", "this", "those", "these", "what", "your", "my", "his", "her", "him", "me",
        "doing", "about", "any", "anything", "most", "there", "here", "much", "too", "so", "you", "us", "yourself",
        "being", "working", "living", "going", "then", "when", "where", "how", "why", "who", "which", "all",
        "some", "something", "more", "other", "a", "an", "and", "or", "but", "if", "like", "up", "out", "in",
        "on", "at", "for", "with", "not", "the", "she", "he", "they", "we", "i", "one", "ones", "each", "is",
    ]
    /// Words that may not appear inside the noun phrase (it would not be a simple name).
    static let badNounWords: Set<String> = [
        "to", "you", "your", "i", "me", "my", "it", "that", "and", "or", "but", "when", "while", "if", "do",
        "is", "are", "was", "be", "so", "too", "much", "about", "this", "like", "of", "in", "at", "for", "with",
    ]
    static let greetings: Set<String> = ["hello", "hi", "hey"]
    /// Discourse words allowed before the pattern ("hi there , do you like ...", "so , what about ...").
    static let leadWords: Set<String> = [
        "hello", "hi", "there", "hey", "ok", "okay", "so", "oh", "yeah", "yes", "sweet", "cool", "that's", "awesome",
        "well", "and", "great", "nice", "wow", "alright", "then", "also", "but", "now", "sure", "fun",
    ]
    static let terminals: Set<String> = [".", "!", "?"]

    /// Hand-written frames for what Persona-Chat rarely says: decades and artist lists.
    static let templates: [(ActionKind, String)] = [
        (.askGenre, "do you like xattr music ?"), (.askGenre, "are you into xattr ?"),
        (.askGenre, "how do you feel about xattr ?"), (.askGenre, "would you like something xattr ?"),
        (.askGenre, "is xattr your kind of music ?"), (.askGenre, "do you enjoy xattr ?"),
        (.askGenre, "should i look for xattr artists ?"), (.askGenre, "are you in the mood for xattr ?"),
        (.askGenre, "do you listen to much xattr ?"), (.askGenre, "is xattr something you like ?"),
        (.askEra, "do you like music from the xattr ?"), (.askEra, "are you into the xattr ?"),
        (.askEra, "how about something from the xattr ?"), (.askEra, "do you listen to xattr music ?"),
        (.askEra, "would you like a band from the xattr ?"), (.askEra, "is the xattr your favorite decade for music ?"),
        (.recommend, "you should listen to xitem ."), (.recommend, "i think you would love xitem ."),
        (.recommend, "how about xitem ?"), (.recommend, "have you heard of xitem ?"),
        (.recommend, "i recommend xitem !"), (.recommend, "you might like xitem ."),
        (.recommend, "give xitem a listen !"), (.recommend, "what about xitem ?"),
        (.recommend, "try xitem , i think they fit ."), (.recommend, "my pick for you is xitem ."),
        (.recommend, "you should check out xitem !"), (.recommend, "maybe xitem would be right for you ?"),
    ]
    /// Acknowledgements of the user's previous answer, put in front of a frame.
    public static let acknowledgements: [AnswerContext: [String]] = [
        .start: [""],
        .yes: ["great !", "cool .", "nice .", "awesome !", "good to know .", "ok , great .", "i love that too !", "perfect ."],
        .no: ["ok .", "no worries .", "that's fine .", "alright .", "no problem .", "ok , noted .", "fair enough .", "got it ."],
    ]

    /// Frames mined from `utterances` (each sentence of each utterance is matched).
    public func mine(_ utterances: [String]) -> (frames: [ActionFrame], ask: Int, recommend: Int) {
        let tokenizer = Tokenizer()
        var frames: [ActionFrame] = []
        var ask = 0, recommend = 0
        for utterance in utterances {
            for sentence in Self.sentences(tokenizer.tokenize(utterance)) {
                if let frame = Self.match(sentence, patterns: Self.askPatterns, maxNoun: 3, slot: ActionSlot.attribute,
                                          allowMusic: true, terminalsAllowed: ["?"]) {
                    frames.append(ActionFrame(kinds: [.askGenre, .askEra], tokens: frame, origin: "mined"))
                    ask += 1
                } else if let frame = Self.match(sentence, patterns: Self.recommendPatterns, maxNoun: 4, slot: ActionSlot.item,
                                                 allowMusic: false, allowArticle: true, terminalsAllowed: Self.terminals) {
                    frames.append(ActionFrame(kinds: [.recommend], tokens: frame, origin: "mined"))
                    recommend += 1
                }
            }
        }
        return (frames, ask, recommend)
    }

    /// Sentences of a token list, each ending at ".", "!" or "?" (kept); a trailing fragment is dropped.
    static func sentences(_ tokens: [String]) -> [[String]] {
        var out: [[String]] = []
        var current: [String] = []
        for t in tokens {
            current.append(t)
            if terminals.contains(t) {
                out.append(current)
                current = []
            }
        }
        return out
    }

    /// The delexicalised frame when `sentence` is lead-ins + pattern + noun phrase (+ "music") + terminal.
    static func match(_ sentence: [String], patterns: [[String]], maxNoun: Int, slot: String, allowMusic: Bool,
                      allowArticle: Bool = false, terminalsAllowed: Set<String>) -> [String]? {
        guard let last = sentence.last, terminalsAllowed.contains(last) else { return nil }
        // The pattern may follow a short lead-in of plain words and commas ("that's cool , do you like ...").
        for start in 0...min(4, sentence.count - 1) {
            guard sentence[0..<start].allSatisfy({ $0 == "," || leadWords.contains($0) }) else { return nil }
            if let frame = match(sentence, at: start, patterns: patterns, maxNoun: maxNoun, slot: slot, allowMusic: allowMusic,
                                 allowArticle: allowArticle) {
                return frame
            }
        }
        return nil
    }

    static func match(_ sentence: [String], at start: Int, patterns: [[String]], maxNoun: Int, slot: String,
                      allowMusic: Bool, allowArticle: Bool) -> [String]? {
        let last = sentence[sentence.count - 1]
        for pattern in patterns.sorted(by: { $0.count > $1.count }) {
            let end = start + pattern.count
            guard end < sentence.count, Array(sentence[start..<end]) == pattern else { continue }
            var noun = Array(sentence[end..<(sentence.count - 1)])
            var tail: [String] = []
            if allowMusic, noun.count > 1, noun.last == "music" {
                noun.removeLast()
                tail = ["music"]
            }
            if allowArticle, noun.count > 1, noun[0] == "the" { noun.removeFirst() }
            guard (1...maxNoun).contains(noun.count), !badNounStarts.contains(noun[0]),
                  noun.allSatisfy({ w in w.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0 == "'" || $0 == "-" } }),
                  !noun.contains(where: badNounWords.contains) else { return nil }
            return Array(sentence[0..<start]) + pattern + [slot] + tail + [last]
        }
        return nil
    }

    /// The noun phrase X a preference question asks about ("so , do you like country music ?" -> "country"),
    /// or nil when the sentence is not such a question.
    public static func askedNoun(_ sentence: [String]) -> String? {
        guard let frame = match(sentence, patterns: askPatterns, maxNoun: 3, slot: ActionSlot.attribute, allowMusic: true,
                                terminalsAllowed: ["?"]), let slot = frame.firstIndex(of: ActionSlot.attribute) else { return nil }
        let nounCount = sentence.count - frame.count + 1
        return sentence[slot..<(slot + nounCount)].joined(separator: " ")
    }

    /// Train and held-out pairs from mined frames plus templates, with statistics.
    public func pairs(utterances: [String]) -> (train: [ActionPair], heldOut: [ActionPair], statistics: ActionPairStatistics) {
        var stats = ActionPairStatistics()
        stats.utterances = utterances.count
        let (mined, ask, recommend) = mine(utterances)
        stats.minedAskSentences = ask
        stats.minedRecommendSentences = recommend
        stats.distinctMinedFrames = Set(mined.map(\.text)).count
        let tokenizer = Tokenizer()
        let templateFrames = Self.templates.map { kind, text in
            ActionFrame(kinds: [kind], tokens: tokenizer.tokenize(text), origin: "template")
        }
        stats.templateFrames = templateFrames.count
        // Distinct frame texts in first-seen order; mined duplicates stay (they weight frequent phrasings).
        var distinct: [String] = []
        var seen: Set<String> = []
        for frame in mined + templateFrames where seen.insert(frame.text).inserted { distinct.append(frame.text) }
        // At most `maxCopies` copies of a mined frame, so "do you like xattr ?" does not drown the rest.
        var copies: [String: Int] = [:]
        let kept = mined.filter { frame in
            copies[frame.text, default: 0] += 1
            return copies[frame.text]! <= Self.maxCopies
        }
        var rng = SeededGenerator(seed: seed)
        var order = distinct
        order.shuffle(using: &rng)
        let heldOutCount = Int((Double(order.count) * heldOutFraction).rounded())
        let heldOutFrames = Set(order.prefix(heldOutCount))
        stats.heldOutFrames = heldOutFrames.count
        var train: [ActionPair] = [], heldOut: [ActionPair] = []
        for frame in kept + templateFrames {
            for kind in frame.kinds {
                // A greeting opens a conversation only: "nice . hello , do you like ..." is not said mid-way.
                let greets = frame.tokens.first.map(Self.greetings.contains) ?? false
                for context in AnswerContext.allCases where context == .start || !greets {
                    let acks = Self.acknowledgements[context]!
                    let ack = acks[Int(rng.next() % UInt64(acks.count))]
                    let target = ack.isEmpty ? frame.text : ack + " " + frame.text
                    let pair = ActionPair(kind: kind, context: context, source: actionSource(kind, context: context),
                                          target: target, frame: frame.text, origin: frame.origin)
                    if heldOutFrames.contains(frame.text) { heldOut.append(pair) } else { train.append(pair) }
                }
            }
        }
        stats.trainPairs = train.count
        stats.heldOutPairs = heldOut.count
        return (train, heldOut, stats)
    }

    /// Every utterance of ConvAI2 valid (self file) and Synthetic-Persona-Chat valid + test under `root`.
    public static func utterances(root: CorpusRoot) throws -> [String] {
        var out: [String] = []
        for episode in try ConvAI2.readEpisodes(root.file("personachat/valid_self_original_no_cands.txt"),
                                                personaPrefix: "your persona:") {
            for pair in episode.pairs { out += [pair.utterance, pair.response] }
        }
        for split in ["valid", "test"] {
            let (dialogues, _) = try SyntheticPersonaChat.read(root.file("personachat/spc_\(split).csv"), source: "spc-\(split)")
            for dialogue in dialogues { out += dialogue.turns.map(\.text) }
        }
        return out
    }
}

extension ActionPairMiner {
    /// Style examples for adaptation, one a line: `ask<TAB>name<TAB>sentence` or `recommend<TAB>name<TAB>sentence`
    /// (blank lines and # comments skipped). The name must occur in the sentence (any case); it is replaced by
    /// the placeholder, and the sentence becomes the target of the action in every answer context.
    public static func styleExamples(_ url: URL) throws -> [ActionPair] {
        let text = try TextFile.string(url)
        let tokenizer = Tokenizer()
        var pairs: [ActionPair] = []
        for (index, line) in TextFile.lines(text).enumerated() {
            let row = line.trimmingCharacters(in: .whitespaces)
            if row.isEmpty || row.hasPrefix("#") { continue }
            let fields = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, ["ask", "recommend"].contains(fields[0]) else {
                throw CRSDataError(file: url.path, location: "line \(index + 1)",
                                   problem: "expected ask|recommend TAB name TAB sentence, got \"\(row)\"")
            }
            let (name, sentence) = (fields[1], fields[2])
            guard let range = sentence.range(of: name, options: .caseInsensitive) else {
                throw CRSDataError(file: url.path, location: "line \(index + 1)",
                                   problem: "the sentence does not contain the name \"\(name)\"")
            }
            let kind: ActionKind = fields[0] == "recommend" ? .recommend : (ActionKind.isEra(name) ? .askEra : .askGenre)
            let target = tokenizer.tokenize(sentence.replacingCharacters(in: range, with: " \(kind.slot) "))
                .joined(separator: " ")
            for context in AnswerContext.allCases {
                pairs.append(ActionPair(kind: kind, context: context, source: actionSource(kind, context: context),
                                        target: target, frame: target, origin: "style"))
            }
        }
        return pairs
    }
}
