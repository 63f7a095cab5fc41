import Dialogue
import Foundation
import Recommender
import Tensor
import Text

// The persona dialogue model as the recommender's voice (the "speaker").
//
// The speaker is the PAML Seq2Seq with three more words: it reads the real conversation so far (the user's
// opening, the system's sentences with names, the user's replies) and, as the last turn, an action prompt with
// how the system read the last answer: "__act__ no ask genre xattr" / "__act__ yes recommend xitem". Its answer carries the placeholder, filled with names
// after decoding (slot-exact decoding, `ActionRealiser`). A line of chit-chat has no prompt: the same model,
// the same source format as a Persona-Chat turn.
//
// A voice is a persona in the usual persona-file format: persona sentences and a few dialogues in which the
// system speaks in that voice with real lastfm names. `ActionLineReader` finds the names in each system line and
// turns it into (action prompt, delexicalised target), so adapting to a voice is k-shot adaptation on its
// dialogues, the PAML way, and no line needs hand labels.
//
// Design notes
// - Names are read by longest whole-token match against the dataset's attribute and artist names. One-word
//   artist names that are common words ("Yes", "Air", "Live") are not read as artists; a list "A, B or C" becomes
//   one `xitem` from the first name to the last.
// - Voices are generated from hand-written specs (Corpora/voices/voices.json): frames with {name}, acknowledgements
//   of a yes and of a no, persona sentences; sessions come from max-entropy and random policies on lastfm users, replies from
//   `ReplyFamily`. The split is by voice: test voices are never seen in training or selection.

/// The action prompt turn and the words a speaker adds to the dialogue vocabulary.
public enum SpeakerPrompt {
    public static let marker = "__act__"
    /// Words the speaker's vocabulary must hold beyond the dialogue model's.
    public static let words = [marker] + ActionSlot.all
    /// Checkpoint metadata that marks a realiser as reading the conversation (a speaker).
    public static let metadataKey = "paml.speaker"
    public static let metadataValue = "conversation"

    /// "__act__ no ask genre xattr": the action and how the system read the user's last answer (start, yes, no), so the
    /// acknowledgement agrees with what the system acts on.
    public static func turn(_ kind: ActionKind, context: AnswerContext) -> String {
        "\(marker) \(context.rawValue) \(kind.rawValue) \(kind.slot)"
    }

    /// The context of a system line in a written conversation: start for the first answer, else the rule reading of the
    /// user's last turn (unclear counts as no, as in a session).
    public static func context(history: [String]) -> AnswerContext {
        guard history.count > 1, let last = history.last else { return .start }
        return ReplyReader().read(last, hypothesis: "").intent == .accept ? .yes : .no
    }
}

/// Reads the action of a system line from the names it contains.
public struct ActionLineReader: Sendable {
    public let dataset: CRSDataset
    /// First token -> (name tokens, attribute id or nil for an artist, the name as written), longest names first.
    let names: [String: [(tokens: [String], attribute: Int?, label: String)]]
    let tokenizer = Tokenizer()

    /// `commonWords`: one-word artist names among them are not read as artists.
    public init(dataset: CRSDataset, commonWords: Set<String>) {
        self.dataset = dataset
        let tokenizer = Tokenizer()
        var names: [String: [(tokens: [String], attribute: Int?, label: String)]] = [:]
        for a in 0..<dataset.attributeCount {
            let t = tokenizer.tokenize(dataset.attributeLabel(a))
            if let first = t.first { names[first, default: []].append((t, a, dataset.attributeLabel(a))) }
        }
        for item in 0..<dataset.itemCount {
            let t = tokenizer.tokenize(dataset.itemLabel(item))
            guard let first = t.first, t.contains(where: { $0.unicodeScalars.contains { $0.properties.isAlphabetic } }) else { continue }
            if t.count == 1 && (commonWords.contains(first) || first.count < 3) { continue }
            names[first, default: []].append((t, nil, dataset.itemLabel(item)))
        }
        self.names = names.mapValues { $0.sorted { $0.tokens.count > $1.tokens.count } }
    }

    /// The line's action kind (nil: no name, a chit-chat line) and its tokens with the names replaced by the
    /// placeholder: artists (from the first named to the last) make a recommendation, else the first attribute
    /// named makes a question (an era when it reads like a decade). Artist names count only when written as the
    /// dataset writes them (case included: "Yes , i do" names no band); attributes in any case. `names` is the text
    /// the placeholder replaced.
    public func read(_ line: String) -> (kind: ActionKind?, tokens: [String], names: String) {
        let tokens = tokenizer.tokenize(line)
        var artistSpans: [Range<Int>] = []
        var attribute: (span: Range<Int>, id: Int)?
        var i = 0
        while i < tokens.count {
            let match = names[tokens[i]]?.first { candidate in
                i + candidate.tokens.count <= tokens.count && Array(tokens[i..<(i + candidate.tokens.count)]) == candidate.tokens
                    && (candidate.attribute != nil || line.contains(candidate.label))
            }
            guard let match else { i += 1; continue }
            let span = i..<(i + match.tokens.count)
            if let a = match.attribute {
                if attribute == nil { attribute = (span, a) }
            } else {
                artistSpans.append(span)
            }
            i = span.upperBound
        }
        if let first = artistSpans.first, let last = artistSpans.last {
            let span = first.lowerBound..<last.upperBound
            return (.recommend, Array(tokens[..<span.lowerBound]) + [ActionSlot.item] + Array(tokens[span.upperBound...]),
                    tokenizer.detokenize(Array(tokens[span])))
        }
        if let attribute {
            let kind: ActionKind = ActionKind.isEra(dataset.attributeLabel(attribute.id)) ? .askEra : .askGenre
            return (kind, Array(tokens[..<attribute.span.lowerBound]) + [ActionSlot.attribute] + Array(tokens[attribute.span.upperBound...]),
                    dataset.attributeLabel(attribute.id))
        }
        return (nil, tokens, "")
    }
}

/// A hand-written voice: persona sentences, frames with `{name}`, acknowledgements, and where it is used.
public struct VoiceSpec: Codable, Equatable, Sendable {
    public enum Split: String, Codable, Sendable { case train, valid, test }
    public var name: String
    public var split: Split
    public var persona: [String]
    public var askGenre: [String]
    public var askEra: [String]
    public var recommend: [String]
    public var yes: [String]
    public var no: [String]
    /// Said after a recommendation was taken (no names).
    public var closing: [String]

    public init(name: String, split: Split, persona: [String], askGenre: [String], askEra: [String], recommend: [String],
                yes: [String], no: [String], closing: [String]) {
        (self.name, self.split, self.persona) = (name, split, persona)
        (self.askGenre, self.askEra, self.recommend) = (askGenre, askEra, recommend)
        (self.yes, self.no, self.closing) = (yes, no, closing)
    }

    /// Reads a JSON list of specs; each needs at least one frame of each kind and one acknowledgement of each answer.
    public static func load(_ url: URL) throws -> [VoiceSpec] {
        let specs: [VoiceSpec]
        do { specs = try JSONDecoder().decode([VoiceSpec].self, from: Data(contentsOf: url)) } catch let error as DecodingError {
            throw TextError(file: url.path, "not a list of voice specs: \(error)")
        }
        for spec in specs {
            for (field, frames) in [("askGenre", spec.askGenre), ("askEra", spec.askEra), ("recommend", spec.recommend)] {
                guard !frames.isEmpty, frames.allSatisfy({ $0.components(separatedBy: "{name}").count == 2 }) else {
                    throw TextError(file: url.path, "voice \(spec.name): \(field) needs frames with exactly one {name}")
                }
            }
            guard !spec.yes.isEmpty, !spec.no.isEmpty, !spec.closing.isEmpty, !spec.persona.isEmpty else {
                throw TextError(file: url.path, "voice \(spec.name): persona, yes, no and closing must not be empty")
            }
        }
        guard Set(specs.map(\.name)).count == specs.count else { throw TextError(file: url.path, "two voices share a name") }
        return specs
    }

    /// The voice of the action-language pairs (no persona): their frames, the miner's acknowledgements.
    public static func neutral(_ pairs: [ActionPair], name: String, split: Split) -> VoiceSpec {
        func frames(_ kind: ActionKind) -> [String] {
            var seen: Set<String> = []
            return pairs.filter { $0.kind == kind }.map { $0.frame.replacingOccurrences(of: kind.slot, with: "{name}") }
                .filter { seen.insert($0).inserted }
        }
        return VoiceSpec(name: name, split: split, persona: [], askGenre: frames(.askGenre), askEra: frames(.askEra),
                         recommend: frames(.recommend), yes: ActionPairMiner.acknowledgements[.yes]!,
                         no: ActionPairMiner.acknowledgements[.no]!, closing: ["enjoy !", "glad i could help .", "have fun listening !"])
    }
}

/// One generated voice dialogue in persona-file form: the user's turns and the system's answers.
public struct VoiceDialogue: Equatable, Sendable {
    public var persona: [String]
    public var pairs: [(user: String, system: String)]
    /// The action behind each system answer (nil: chit-chat).
    public var actions: [CRSAction?]

    public static func == (a: VoiceDialogue, b: VoiceDialogue) -> Bool {
        a.persona == b.persona && a.pairs.map(\.user) == b.pairs.map(\.user) && a.pairs.map(\.system) == b.pairs.map(\.system)
    }

    /// The dialogue as one JSONL line of a persona file.
    public var jsonLine: String {
        let object: [String: Any] = ["persona": persona, "pairs": pairs.map { [$0.user, $0.system] }]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

/// Writes dialogues of a voice: sessions with lastfm users (max-entropy and random policies alternating), each action
/// said with one of the voice's frames (with an acknowledgement of the last answer), each answer a `ReplyFamily` reply.
public struct VoiceWriter {
    public let simulator: UserSimulator

    public init(dataset: CRSDataset, maxTurns: Int = 6) {
        simulator = UserSimulator(dataset: dataset, source: .sampled, maxTurns: maxTurns,
                                  itemOrder: dataset.popularityOrder(users: dataset.trainUsers))
    }

    public func dialogues(_ spec: VoiceSpec, users: [Int], count: Int, seed: UInt64) -> [VoiceDialogue] {
        let dataset = simulator.dataset
        var text = SeededGenerator(seed: seed ^ 0x00C0_FFEE)
        func pick(_ list: [String]) -> String { list[Int(text.next() % UInt64(list.count))] }
        return (0..<count).map { index in
            var rng = UserSimulator.episodeGenerator(seed: seed, index: index)
            let session = simulator.drawSession(users: users, index: index, using: &rng)
            var state = simulator.start(session)
            // Even sessions follow max-entropy (asks, then one list), odd ones a random policy (lists after rejected
            // lists, asks after lists), so the speaker meets the orders a learned policy produces.
            let policy: any CRSPolicy = index % 2 == 0 ? MaxEntropyPolicy() : RandomPolicy(askProbability: 0.5)
            var user = session.opening.map { "hi ! i would like some \(dataset.attributeLabel($0)) music ." }
                ?? pick(["hi ! can you recommend some music ?", "hello , i am looking for new music .", "hey , any music ideas for me ?"])
            var dialogue = VoiceDialogue(persona: spec.persona, pairs: [], actions: [])
            var lastAccepted: Bool?
            while !state.done {
                let action = policy.act(state, simulator: simulator, rng: &rng)
                let kind = ActionKind.of(action, in: dataset)
                let frames = kind == .recommend ? spec.recommend : (kind == .askEra ? spec.askEra : spec.askGenre)
                let frame = pick(frames).replacingOccurrences(of: "{name}", with: SlotFiller.slotText(action, dataset: dataset))
                let ack = lastAccepted.map { pick($0 ? spec.yes : spec.no) + " " } ?? ""
                dialogue.pairs.append((user, ack + frame))
                dialogue.actions.append(action)
                _ = simulator.step(action, state: &state)
                let accepted: Bool
                let name: String
                switch action {
                case .ask(let a): (accepted, name) = (simulator.confirms(a, session), dataset.attributeLabel(a))
                case .recommend(let items): (accepted, name) = (items.contains(session.target), dataset.itemLabel(session.target))
                }
                let family = ReplyFamily.allCases[Int(text.next() % UInt64(ReplyFamily.allCases.count))]
                user = family.reply(accepted: accepted, action: action, name: name, rng: &text).lowercased()
                lastAccepted = accepted
            }
            if state.succeeded {
                dialogue.pairs.append((user, pick(spec.closing)))
                dialogue.actions.append(nil)
            }
            return dialogue
        }
    }
}

/// Training and adaptation examples of a speaker: each system answer of a persona-file dialogue, its source the
/// conversation before it plus the action prompt its names show, its target the delexicalised answer.
public struct SpeakerExamples: Sendable {
    public let encoder: ExampleEncoder
    public let reader: ActionLineReader

    public init(encoder: ExampleEncoder, reader: ActionLineReader) {
        self.encoder = encoder
        self.reader = reader
    }

    /// One example: nil kind for a chit-chat answer (plain dialogue source).
    public func example(history: [String], answer: String) -> (kind: ActionKind?, example: EncodedExample, target: [String]) {
        let (kind, tokens, _) = reader.read(answer)
        let turns = kind.map { history + [SpeakerPrompt.turn($0, context: SpeakerPrompt.context(history: history))] } ?? history
        let response = Array(encoder.vocabulary.encode(tokens).prefix(encoder.format.maxResponseTokens))
        return (kind, EncodedExample(source: encoder.source(history: turns, persona: []), response: response), tokens)
    }

    /// A persona file's examples grouped by dialogue (a new dialogue starts with one turn of history).
    public static func grouped(_ file: PersonaDialogueFile) -> [[PersonaExample]] {
        var out: [[PersonaExample]] = []
        for example in file.examples {
            if example.history.count <= 1 || out.isEmpty { out.append([]) }
            out[out.count - 1].append(example)
        }
        return out
    }

    /// The examples of a persona file's dialogues (one list per dialogue).
    public func dialogues(_ file: PersonaDialogueFile) -> [[EncodedExample]] {
        Self.grouped(file).map { $0.map { example(history: $0.history, answer: $0.response).example } }
    }

    /// The examples of generated dialogues (one list per dialogue).
    public func dialogues(_ generated: [VoiceDialogue]) -> [[EncodedExample]] {
        generated.map { dialogue in
            var history: [String] = []
            return dialogue.pairs.map { pair in
                history.append(pair.user)
                defer { history.append(pair.system) }
                return example(history: history, answer: pair.system).example
            }
        }
    }
}
