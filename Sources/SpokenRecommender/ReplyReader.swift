import Recommender
import NLI
import Foundation
import Tensor
import Text

// Reading a user's free-text reply to an ask or a recommendation as accept / reject.
//
// Two readers, tried in order:
// 1. Rules: a signed lexicon over the tokens (yes/sure/love/+, no/nope/hate/-), a negator (not, don't,
//    never, ...) flipping the sentiment words after it up to the next punctuation mark, fixed phrases
//    ("not bad", "why not", "not my thing", "no thanks"), and double weight for the first word (a reply's
//    "yes"/"no" opener decides most replies). Sum > 0 accept, < 0 reject, 0 unclear.
// 2. NLI (when a predictor is given and the rules say unclear): premise = the reply, hypothesis = "I like
//    <name> music." for an ask or "I like <first artist>." for a recommendation; entailment -> accept,
//    contradiction -> reject, neutral -> unclear.
// Accuracy on the hand-labelled set in Corpora/crs-replies.tsv is measured by `paml recommend read-replies`.

/// What a reply means for the action it answers.
public enum ReplyIntent: String, CaseIterable, Codable, Sendable {
    case accept, reject, unclear
}

/// The reading of one reply and which reader decided it.
public struct ReplyReading: Equatable, Sendable {
    public var intent: ReplyIntent
    /// "rules", "nli" or "none".
    public var decidedBy: String
}

/// Rules first, NLI for what the rules leave unclear.
public struct ReplyReader {
    public var nli: (any NLIPredictor)?

    public init(nli: (any NLIPredictor)? = nil) { self.nli = nli }

    static let positive: [String: Double] = [
        "yes": 1, "yeah": 1, "yep": 1, "yup": 1, "ya": 1, "yea": 1, "yah": 1, "sure": 1, "ok": 1, "okay": 1, "love": 1,
        "like": 1, "likes": 1, "enjoy": 1, "enjoyed": 1, "great": 1, "definitely": 1, "absolutely": 1, "fine": 0.5,
        "cool": 1, "awesome": 1, "perfect": 1, "indeed": 1, "totally": 1, "fan": 1, "good": 1, "nice": 1,
        "certainly": 1, "please": 0.5, "interested": 1, "into": 0.5, "adore": 1, "favorite": 1, "favourite": 1,
        "fantastic": 1, "amazing": 1, "excellent": 1, "right": 0.5, "correct": 1, "exactly": 1, "agree": 1,
        "alright": 1, "loved": 1, "loves": 1, "enjoys": 1, "dig": 1, "listen": 0.5, "take": 0.5, "brilliant": 1,
        "yess": 1, "yes!": 1, "mhm": 1, "aye": 1, "thanks": 0.5, "do": 0.5, "play": 0.5,
    ]
    static let negative: [String: Double] = [
        "no": 1, "nope": 1, "nah": 1, "never": 1, "hate": 1, "hates": 1, "dislike": 1, "neither": 1, "none": 1,
        "pass": 1, "boring": 1, "meh": 1, "rather": 0.5, "prefer": 0.5, "awful": 1, "terrible": 1, "bad": 1,
        "else": 0.5, "skip": 1, "annoying": 1, "ugh": 1, "worst": 1, "can't": 0.5, "stand": 0,
    ]
    /// Words that flip the sentiment of the following words up to the next punctuation mark.
    static let negators: Set<String> = [
        "not", "don't", "dont", "never", "isn't", "doesn't", "didn't", "can't", "cannot", "won't", "wouldn't",
        "hardly", "aren't", "wasn't", "nothing", "without", "haven't", "ain't",
    ]
    /// Phrases whose meaning is not the sum of their words (longest first).
    static let phrases: [([String], Double)] = [
        (["of", "course", "not"], -2), (["absolutely", "not"], -2), (["definitely", "not"], -2), (["certainly", "not"], -2),
        (["i", "don't", "mind"], 1.5), (["i", "don't", "know"], 0), (["can't", "get", "enough"], 2), (["not", "my", "thing"], -2), (["not", "for", "me"], -2),
        (["not", "a", "fan"], -2), (["no", "thank", "you"], -2), (["not", "my", "cup"], -2),
        (["not", "bad"], 1), (["don't", "mind"], 1), (["wouldn't", "mind"], 1), (["why", "not"], 1.5),
        (["can't", "wait"], 1), (["not", "really"], -2), (["no", "thanks"], -2), (["of", "course"], 1.5),
        (["sounds", "good"], 1.5), (["sounds", "great"], 1.5), (["not", "sure"], 0), (["i", "guess"], 0.5),
        (["kind", "of"], 0.5), (["sort", "of"], 0.5), (["not", "at", "all"], -2), (["no", "way"], -1),
        (["i", "do"], 1), (["go", "for", "it"], 1), (["sign", "me", "up"], 1), (["let's", "go"], 1),
        (["something", "else"], -1), (["not", "interested"], -2), (["can't", "stand"], -2),
        (["not", "into"], -2), (["don't", "like"], -2), (["don't", "really"], -1), (["i", "don't"], -1.5),
    ].sorted { $0.0.count > $1.0.count }

    /// A token without letters or digits.
    static func isPunctuation(_ token: String) -> Bool {
        token.unicodeScalars.allSatisfy { !$0.properties.isAlphabetic && $0.properties.numericType == nil }
    }

    /// The rules' score: > 0 accept, < 0 reject.
    public static func ruleScore(_ reply: String) -> Double {
        let tokens = Tokenizer().tokenize(reply)
        var score = 0.0
        var flipUntil = -1
        var i = 0
        while i < tokens.count {
            let weight = i == 0 ? 2.0 : 1.0
            if let (phrase, value) = phrases.first(where: { p in
                i + p.0.count <= tokens.count && Array(tokens[i..<(i + p.0.count)]) == p.0 }) {
                score += weight * value
                i += phrase.count
                flipUntil = -1
                continue
            }
            let t = tokens[i]
            if isPunctuation(t) {
                flipUntil = -1
            } else if negators.contains(t) {
                // A negator followed by a sentiment word flips it; alone it counts as a "no".
                let window = tokens[(i + 1)..<min(tokens.count, i + 4)].prefix { !isPunctuation($0) }
                if window.contains(where: { positive[$0] != nil || negative[$0] != nil }) {
                    flipUntil = i + 3
                } else {
                    score -= weight * (negative[t] ?? 1)
                }
            } else {
                let value = (positive[t] ?? 0) - (negative[t] ?? 0)
                score += (i <= flipUntil ? -1 : 1) * weight * value
            }
            i += 1
        }
        return score
    }

    /// The NLI hypothesis for an action: what an accepting user would entail.
    public static func hypothesis(_ action: CRSAction, dataset: CRSDataset) -> String {
        switch action {
        case .ask(let a):
            let name = dataset.attributeLabel(a)
            return ActionKind.isEra(name) ? "I like music from the \(name)." : "I like \(name) music."
        case .recommend(let items):
            return "I like \(items.first.map(dataset.itemLabel) ?? "it")."
        }
    }

    /// Does the reply ask for recommendations instead of answering ("do you have any recommendations yet?")?
    public static func asksForRecommendations(_ reply: String) -> Bool {
        let tokens = Tokenizer().tokenize(reply.lowercased())
        let asking = tokens.contains { ["recommend", "recommendation", "recommendations", "suggest", "suggestion",
                                        "suggestions", "ideas"].contains($0) }
        return asking && (tokens.last == "?" || ["just", "please", "can", "could", "any", "give", "show"].contains(tokens.first ?? ""))
    }

    /// Reads one reply to `action`.
    public func read(_ reply: String, action: CRSAction, dataset: CRSDataset) -> ReplyReading {
        read(reply, hypothesis: Self.hypothesis(action, dataset: dataset))
    }

    /// Reads one reply against an explicit NLI hypothesis.
    public func read(_ reply: String, hypothesis: String) -> ReplyReading {
        let score = Self.ruleScore(reply)
        if score > 0 { return ReplyReading(intent: .accept, decidedBy: "rules") }
        if score < 0 { return ReplyReading(intent: .reject, decidedBy: "rules") }
        guard let nli else { return ReplyReading(intent: .unclear, decidedBy: "none") }
        switch nli.predict([(premise: reply, hypothesis: hypothesis)])[0] {
        case .entailment: return ReplyReading(intent: .accept, decidedBy: "nli")
        case .contradiction: return ReplyReading(intent: .reject, decidedBy: "nli")
        case .neutral: return ReplyReading(intent: .unclear, decidedBy: "nli")
        }
    }

    /// NLI alone (for the comparison in the evaluation).
    public func readByNLI(_ reply: String, hypothesis: String) -> ReplyIntent? {
        guard let nli else { return nil }
        switch nli.predict([(premise: reply, hypothesis: hypothesis)])[0] {
        case .entailment: return .accept
        case .contradiction: return .reject
        case .neutral: return .unclear
        }
    }
}

/// One labelled reply: what was asked (an ask about `name` or a recommendation of `name`), the reply, the label.
public struct LabelledReply: Equatable, Sendable {
    public var isAsk: Bool
    public var name: String
    public var reply: String
    public var label: ReplyIntent
    /// Where the reply came from ("hand" or "convai2").
    public var origin: String

    /// The NLI hypothesis the reader uses for this example.
    public var hypothesis: String {
        isAsk ? (ActionKind.isEra(name) ? "I like music from the \(name)." : "I like \(name).") : "I like \(name)."
    }

    /// Reads a TSV with header `action<TAB>name<TAB>reply<TAB>label<TAB>origin` (action ask|recommend,
    /// label accept|reject); lines starting with # are comments.
    public static func read(_ url: URL) throws -> [LabelledReply] {
        let text = try TextFile.string(url)
        var out: [LabelledReply] = []
        for (index, line) in TextFile.lines(text).enumerated() {
            let row = String(line)
            if row.isEmpty || row.hasPrefix("#") { continue }
            let fields = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if index == 0 || fields == ["action", "name", "reply", "label", "origin"] { continue }
            guard fields.count == 5, ["ask", "recommend"].contains(fields[0]),
                  let label = ReplyIntent(rawValue: fields[3]), label != .unclear else {
                throw CRSDataError(file: url.path, location: "line \(index + 1)",
                                   problem: "expected action(ask|recommend) TAB name TAB reply TAB label(accept|reject) TAB origin")
            }
            out.append(LabelledReply(isAsk: fields[0] == "ask", name: fields[1], reply: fields[2], label: label, origin: fields[4]))
        }
        return out
    }
}

/// Simulated users' replies in words, drawn from templates by the simulator's event.
public enum SimulatedReplies {
    public static let askAccepted = ["Yes.", "Yeah, I love {name}!", "Sure, {name} is great.", "Definitely!", "Yes please.",
                              "I do, {name} is my thing.", "Of course.", "Yep, I listen to a lot of {name}."]
    public static let askRejected = ["No.", "Not really.", "Nah, I'm not into {name}.", "I don't like {name} much.",
                              "Not a fan.", "No thanks.", "Nope, not my thing.", "I'd rather not."]
    public static let recommendAccepted = ["Yes, I'll take {name}!", "Great, I love {name}.", "Perfect, {name} it is.",
                                    "Sounds good!", "Oh yes, {name} is exactly what I wanted."]
    public static let recommendRejected = ["None of those.", "No, I don't like them.", "Not for me.",
                                    "Nope, something else please.", "I'd rather hear something else."]

    /// A reply for the answer `accepted` to `action`; `name` is the attribute, or the accepted (target) artist.
    public static func reply(accepted: Bool, action: CRSAction, name: String, rng: inout SeededGenerator) -> String {
        let pool: [String]
        switch action {
        case .ask: pool = accepted ? askAccepted : askRejected
        case .recommend: pool = accepted ? recommendAccepted : recommendRejected
        }
        return pool[Int(rng.next() % UInt64(pool.count))].replacingOccurrences(of: "{name}", with: name)
    }
}

extension LabelledReply {
    /// Openers that label a reply by themselves, and how.
    static let openers: [String: ReplyIntent] = [
        "yes": .accept, "yeah": .accept, "yep": .accept, "yup": .accept, "yea": .accept, "ya": .accept,
        "sure": .accept, "definitely": .accept, "absolutely": .accept,
        "no": .reject, "nope": .reject, "nah": .reject,
    ]

    /// Replies labelled by the corpus itself: in consecutive turns (question, answer) where the question's last
    /// sentence asks a preference ("do you like X ?") and the answer opens with yes/no (yeah, nope, ...), the
    /// answer minus that opener (and the punctuation after it) is labelled by the opener. The reader then has to
    /// find the polarity in the rest of the answer ("yes , i love horses" -> "i love horses", accept). Only
    /// remainders of at least three tokens are kept.
    public static func mined(from dialogues: [PersonaDialogue], origin: String) -> [LabelledReply] {
        let tokenizer = Tokenizer()
        var out: [LabelledReply] = []
        for dialogue in dialogues {
            for (question, answer) in zip(dialogue.turns, dialogue.turns.dropFirst()) {
                guard let sentence = ActionPairMiner.sentences(tokenizer.tokenize(question.text)).last,
                      let noun = ActionPairMiner.askedNoun(sentence) else { continue }
                var reply = tokenizer.tokenize(answer.text)
                guard let first = reply.first, let label = openers[first] else { continue }
                reply.removeFirst()
                while let t = reply.first, ReplyReader.isPunctuation(t) { reply.removeFirst() }
                guard reply.count >= 3, !(openers[reply[0]] != nil) else { continue }
                out.append(LabelledReply(isAsk: true, name: noun, reply: reply.joined(separator: " "), label: label, origin: origin))
            }
        }
        return out
    }
}

/// Accuracy of the reply reader's ways of reading (rules, NLI, rules then NLI) on labelled replies, per origin.
public enum ReplyReaderEvaluation {
    public struct OriginScore: Sendable {
        public var origin: String
        public var correct: Int, total: Int, unclear: Int
        public var accuracy: Double { Double(correct) / Double(max(total, 1)) }
    }
    public struct Result: Sendable {
        public var reader: String
        /// Each origin, then "all".
        public var byOrigin: [OriginScore]
        public var misread: [(LabelledReply, ReplyIntent)]
        public var seconds: Double
    }

    public static func measure(_ reader: ReplyReader, on examples: [LabelledReply]) -> [Result] {
        var ways: [(String, (LabelledReply) -> ReplyIntent)] = [
            ("rules", { ReplyReader().read($0.reply, hypothesis: $0.hypothesis).intent }),
        ]
        if reader.nli != nil {
            ways.append(("nli", { reader.readByNLI($0.reply, hypothesis: $0.hypothesis)! }))
            ways.append(("rules+nli", { reader.read($0.reply, hypothesis: $0.hypothesis).intent }))
        }
        let origins = Array(Set(examples.map(\.origin))).sorted()
        return ways.map { name, read in
            let start = Date()
            let predictions = examples.map(read)
            let scores = (origins + ["all"]).map { origin -> OriginScore in
                let pick = examples.indices.filter { origin == "all" || examples[$0].origin == origin }
                return OriginScore(origin: origin, correct: pick.filter { predictions[$0] == examples[$0].label }.count,
                                   total: pick.count, unclear: pick.filter { predictions[$0] == .unclear }.count)
            }
            let misread = examples.indices.filter { predictions[$0] != examples[$0].label }.map { (examples[$0], predictions[$0]) }
            return Result(reader: name, byOrigin: scores, misread: misread, seconds: Date().timeIntervalSince(start))
        }
    }
}

extension LabelledReply {
    /// Corpus-labelled replies of ConvAI2 valid ("mined-convai2") and Synthetic-Persona-Chat valid/test ("mined-spc").
    public static func mined(root: CorpusRoot) throws -> [LabelledReply] {
        var examples = mined(from: try ConvAI2.read(
            selfFile: root.file("personachat/valid_self_original_no_cands.txt"),
            otherFile: root.file("personachat/valid_other_original_no_cands.txt"), source: "convai2-valid"), origin: "mined-convai2")
        for split in ["valid", "test"] {
            examples += mined(from: try SyntheticPersonaChat.read(root.file("personachat/spc_\(split).csv"), source: "spc-\(split)").dialogues,
                              origin: "mined-spc")
        }
        return examples
    }
}
