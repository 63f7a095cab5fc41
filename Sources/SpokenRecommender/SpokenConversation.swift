import Recommender
import Foundation
import Tensor
import Text

// Conversations in words: a CRS policy chooses actions, the realiser says them, and replies (a person's
// lines, or the simulated user's templated replies) are read back into accept / reject.
//
// Interactive sessions have no target item: the state follows the person's answers (`apply`), with the
// updates of `UserSimulator.step` (an accepted attribute filters the candidates, rejected items leave
// them, an accepted recommendation ends the session, T turns at most) plus one: a person who says no to an
// attribute does not want it, so it filters too (unless no artist would be left). A person who asks for
// recommendations gets one at once, and every recommendation ends in a question whose "yes" means taking it.
// Simulated sessions step the simulator (the truth) and record whether the reader understood each reply.

/// One turn in words.
public struct SpokenTurn: Sendable {
    public var action: CRSAction
    public var system: String
    public var user: String
    public var reading: ReplyReading
}

/// A finished conversation in words.
public struct SpokenEpisode: Sendable {
    public var turns: [SpokenTurn]
    public var succeeded: Bool
    /// Simulated sessions: turns whose reply the reader read as the simulator meant it.
    public var understood: Int
    /// The artist accepted, if any.
    public var accepted: Int?
}

extension UserSimulator {
    /// Applies an answer given in words (no target item): the state update of `step` driven by `accepted`.
    /// An accepted recommendation ends the session successfully.
    public func apply(_ action: CRSAction, accepted: Bool, state: inout ConversationState) {
        precondition(!state.done, "apply on a finished session")
        state.turn += 1
        switch action {
        case .ask(let attribute):
            let bit: UInt64 = 1 << UInt64(attribute)
            if accepted {
                if state.acceptedAttributes & bit == 0 {
                    state.acceptedAttributes |= bit
                    state.candidates = filter(state.candidates, required: bit)
                }
            } else {
                state.rejectedAttributes |= bit
                let kept = state.candidates.filter { dataset.itemMasks[$0] & bit == 0 }
                if !kept.isEmpty { state.candidates = kept }
            }
        case .recommend(let items):
            if accepted, !items.isEmpty {
                state.succeeded = true
                state.done = true
            } else {
                state.rejectedItems.formUnion(items)
                let rejected = Set(items)
                state.candidates.removeAll { rejected.contains($0) }
            }
        }
        if !state.succeeded && state.turn >= maxTurns { state.done = true }
    }

    /// The state of an interactive session whose user opened with `opening` attributes (may be none).
    /// The person is no dataset user: the session names the first test user only to fill the field (no policy
    /// reads it) and has no target (-1).
    public func interactiveStart(opening: [Int]) -> ConversationState {
        let user = dataset.testUsers.first ?? 0
        var state = start(CRSSession(user: user, target: -1, opening: nil))
        for a in opening { state.acceptedAttributes |= 1 << UInt64(a) }
        state.candidates = filter(itemOrder, required: state.acceptedAttributes)
        return state
    }
}

extension CRSDataset {
    /// Attributes named in free text (whole-word, case-insensitive; "rnb" also as "r&b"), in id order.
    public func attributesMentioned(in text: String) -> [Int] {
        guard let names = attributeNames else { return [] }
        let lowered = " " + text.lowercased().replacingOccurrences(of: "r&b", with: "rnb")
            .map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : " " } + " "
        let padded = String(lowered)
        return names.indices.filter { padded.contains(" " + names[$0].lowercased() + " ") }
    }

    /// The items of `items` the text names (case-insensitive), in list order.
    public func itemsMentioned(in text: String, among items: [Int]) -> [Int] {
        let lowered = text.lowercased()
        return items.filter { item in itemNames?[item].map { lowered.contains($0.lowercased()) } ?? false }
    }
}

/// A policy, a realiser (nil: the fixed templates) and a reply reader speaking with a user.
public struct SpokenRecommender {
    public var simulator: UserSimulator
    /// The policy in its state before a conversation; each conversation acts on a copy.
    public var policy: any ConversationPolicy
    public var realiser: ActionRealiser?
    public var reader: ReplyReader
    /// How many times an unclear reply is asked again before it counts as "no".
    public var clarifications = 1

    public init(simulator: UserSimulator, policy: any ConversationPolicy, realiser: ActionRealiser?, reader: ReplyReader) {
        self.simulator = simulator
        self.policy = policy
        self.realiser = realiser
        self.reader = reader
    }

    /// With a stateless rule policy (MaxE, random).
    public init(simulator: UserSimulator, policy: any CRSPolicy, realiser: ActionRealiser?, reader: ReplyReader) {
        func wrap<P: CRSPolicy>(_ p: P) -> any ConversationPolicy { RuleConversationPolicy(p) }
        self.init(simulator: simulator, policy: wrap(policy), realiser: realiser, reader: reader)
    }

    /// A recommendation that ends in a question whose "yes" means taking an artist ("Have you heard of X?" would
    /// make "yes" mean "I know it").
    public static func askingToTake(_ sentence: String, items: [Int], dataset: CRSDataset) -> String {
        let lowered = sentence.lowercased()
        let asksToTake = ["would you like", "do you want", "want to", "how about", "shall i", "would you enjoy", "fancy"]
            .contains { lowered.contains($0) } && lowered.hasSuffix("?")
        guard !asksToTake, let first = items.first else { return sentence }
        return sentence + " Would you like to listen to \(items.count > 1 ? "one of these" : dataset.itemLabel(first))?"
    }

    /// What a simulated user says first: the opening attribute, else a plain request.
    public static func openingLine(_ session: CRSSession, dataset: CRSDataset) -> String {
        session.opening.map { "I'd like some \(dataset.attributeLabel($0)) music." } ?? "Can you recommend some music?"
    }

    /// The sentence for an action after the user's last answer (`history`: the conversation so far, which a speaker reads).
    public func say(_ action: CRSAction, context: AnswerContext, history: [String] = [], seed: UInt64) -> String {
        let dataset = simulator.dataset
        if let realiser { return realiser.realise(action, context: context, history: history, dataset: dataset, seed: seed).text }
        return Self.templateSentence(action, dataset: dataset)
    }

    /// The kind's first template with the names filled in (the sentence without a language model).
    public static func templateSentence(_ action: CRSAction, dataset: CRSDataset) -> String {
        let kind = ActionKind.of(action, in: dataset)
        let template = ActionPairMiner.templates.first { $0.0 == kind }!.1
        return SlotFiller.fill(Tokenizer().tokenize(template), text: SlotFiller.slotText(action, dataset: dataset))
    }

    /// An interactive session: `input` yields the person's lines (nil: end of input), `output` prints.
    /// Returns the episode (turns in words).
    @discardableResult
    public func interactive(seed: UInt64, input: () -> String?, output: (String) -> Void) -> SpokenEpisode {
        let dataset = simulator.dataset
        output("system: Hi! I can recommend an artist. What kind of music do you like?")
        guard let opening = input() else { return SpokenEpisode(turns: [], succeeded: false, understood: 0, accepted: nil) }
        output("you:    \(opening)")
        let mentioned = dataset.attributesMentioned(in: opening)
        var state = simulator.interactiveStart(opening: mentioned)
        if !mentioned.isEmpty {
            output("        (noted: \(mentioned.map(dataset.attributeLabel).joined(separator: ", ")); \(state.candidates.count) artists fit)")
        }
        var rng = UserSimulator.episodeGenerator(seed: seed, index: 0)
        var policy = self.policy
        var turns: [SpokenTurn] = []
        var context = AnswerContext.start
        var history = [opening]
        var accepted: Int?
        var recommendNow = false
        while !state.done {
            let action = recommendNow ? policy.recommend(state, simulator: simulator) : policy.act(state, simulator: simulator, rng: &rng)
            recommendNow = false
            if case .recommend(let items) = action, items.isEmpty {
                output("system: Sorry, no artist I know fits all your answers.")
                break
            }
            var sentence = say(action, context: context, history: history, seed: seed &+ UInt64(state.turn))
            if case .recommend(let items) = action { sentence = Self.askingToTake(sentence, items: items, dataset: dataset) }
            history.append(sentence)
            output("system: \(sentence)")
            if case .recommend(let items) = action, items.count > (realiser?.listed ?? 3) {
                output("        (the full list: \(items.map(dataset.itemLabel).joined(separator: ", ")))")
            }
            var reading = ReplyReading(intent: .unclear, decidedBy: "none")
            var reply = ""
            var attempts = 0
            while reading.intent == .unclear {
                guard let line = input() else {
                    output("(end of input)")
                    return SpokenEpisode(turns: turns, succeeded: false, understood: 0, accepted: nil)
                }
                reply = line
                history.append(line)
                output("you:    \(line)")
                if case .ask = action, ReplyReader.asksForRecommendations(line) {
                    reading = ReplyReading(intent: .unclear, decidedBy: "request")
                    break
                }
                reading = reader.read(line, action: action, dataset: dataset)
                if reading.intent == .unclear {
                    attempts += 1
                    if attempts > clarifications { reading = ReplyReading(intent: .reject, decidedBy: "default"); break }
                    output("system: Sorry, was that a yes or a no?")
                }
            }
            if reading.decidedBy == "request" {
                // Not an answer to the question: no state change, no turn used; recommend next.
                output("        [a request for recommendations: recommending now]")
                turns.append(SpokenTurn(action: action, system: sentence, user: reply, reading: reading))
                recommendNow = true
                continue
            }
            var chosen: Int?
            if case .recommend(let items) = action, reading.intent == .accept {
                chosen = dataset.itemsMentioned(in: reply, among: items).first ?? items.first
                accepted = chosen
            }
            output("        [read as \(reading.intent.rawValue) by \(reading.decidedBy)]")
            simulator.apply(action, accepted: reading.intent == .accept, state: &state)
            policy.observe(action, accepted: reading.intent == .accept)
            turns.append(SpokenTurn(action: action, system: sentence, user: reply, reading: reading))
            context = reading.intent == .accept ? .yes : .no
        }
        if let accepted {
            output("system: Enjoy \(dataset.itemLabel(accepted))!")
        } else {
            output("system: Sorry I could not find the right artist in \(simulator.maxTurns) turns.")
        }
        return SpokenEpisode(turns: turns, succeeded: state.succeeded, understood: 0, accepted: accepted)
    }

    /// A simulated session in words: the simulator answers, its answer becomes a templated reply, the reader
    /// reads it back; the state follows the simulator (the truth), `understood` counts agreeing readings.
    public func simulated(session: CRSSession, rng: inout SeededGenerator, seed: UInt64) -> SpokenEpisode {
        let dataset = simulator.dataset
        var state = simulator.start(session)
        var turns: [SpokenTurn] = []
        var understood = 0
        var context = AnswerContext.start
        var replyRNG = SeededGenerator(seed: seed ^ 0x5EED)
        var policy = self.policy
        var history = [Self.openingLine(session, dataset: dataset)]
        while !state.done {
            let action = policy.act(state, simulator: simulator, rng: &rng)
            let sentence = say(action, context: context, history: history, seed: seed &+ UInt64(state.turn))
            _ = simulator.step(action, state: &state)
            let accepted: Bool
            let name: String
            switch action {
            case .ask(let a):
                accepted = simulator.confirms(a, session)
                name = dataset.attributeLabel(a)
            case .recommend(let items):
                accepted = items.contains(session.target)
                name = dataset.itemLabel(session.target)
            }
            policy.observe(action, accepted: accepted)
            let reply = SimulatedReplies.reply(accepted: accepted, action: action, name: name, rng: &replyRNG)
            let reading = reader.read(reply, action: action, dataset: dataset)
            if reading.intent == (accepted ? .accept : .reject) { understood += 1 }
            turns.append(SpokenTurn(action: action, system: sentence, user: reply, reading: reading))
            history += [sentence, reply]
            context = accepted ? .yes : .no
        }
        return SpokenEpisode(turns: turns, succeeded: state.succeeded, understood: understood,
                             accepted: state.succeeded ? session.target : nil)
    }

    /// A simulated episode as text.
    public func transcript(_ episode: SpokenEpisode, session: CRSSession) -> String {
        let d = simulator.dataset
        var lines = ["user \(session.user), target \(d.itemLabel(session.target))"]
        lines.append("  user:   \(Self.openingLine(session, dataset: d))")
        for (i, turn) in episode.turns.enumerated() {
            lines.append("  [\(i + 1)] system: \(turn.system)")
            lines.append("      user:   \(turn.user)   [read: \(turn.reading.intent.rawValue), \(turn.reading.decidedBy)]")
        }
        lines.append("  -> \(episode.succeeded ? "success" : "failure") in \(episode.turns.count) turns; "
            + "reader understood \(episode.understood)/\(episode.turns.count) replies")
        return lines.joined(separator: "\n")
    }
}

extension UserSimulator {
    /// The first `count` sessions of an evaluation run (same seeds) as text: in words when a `speaker` realises the
    /// actions and reads the simulated replies back (with how many replies it read as the user meant), else as actions.
    public func exampleTranscripts(_ policy: any CRSPolicy, speaker: SpokenRecommender?, users: [Int], count: Int, seed: UInt64)
        -> (transcripts: [String], understood: Int, replies: Int) {
        var transcripts: [String] = []
        var understood = 0, replies = 0
        for index in 0..<count {
            var rng = UserSimulator.episodeGenerator(seed: seed, index: index)
            let session = drawSession(users: users, index: index, using: &rng)
            if let speaker {
                let spoken = speaker.simulated(session: session, rng: &rng, seed: seed &+ UInt64(index))
                understood += spoken.understood
                replies += spoken.turns.count
                transcripts.append(speaker.transcript(spoken, session: session))
            } else {
                transcripts.append(transcript(run(policy, session: session, rng: &rng, record: true)))
            }
        }
        return (transcripts, understood, replies)
    }
}

/// The answer channel of one turn whose reply was already read: it returns that reading (unclear counts as no).
struct ReadReply: CRSAnswerChannel {
    let intent: ReplyIntent
    func understood(_ action: CRSAction, accepted: Bool, session: CRSSession, acceptedItem: Int?, rng: inout SeededGenerator) -> Bool? {
        switch intent {
        case .accept: return true
        case .reject: return false
        case .unclear: return nil
        }
    }
}

extension SpokenRecommender {
    /// What a simulated user says when the system's sentence lacks the name it is about.
    public static let confusedReply = "sorry , what do you mean ?"

    /// A simulated session fully in words with the exact MetaCRS user: the realiser says each action (reading the
    /// conversation so far when it is a speaker), the user hears the sentence (an attribute question must name the
    /// attribute; a recommendation must name at least one artist of the list, and the full list is shown as in the
    /// interactive mode), answers in words (`replies`; a sentence without its name gets `confusedReply`), and the system
    /// acts on what the reader reads (unclear counts as no). With `inWords` false the same session runs on symbols.
    public func session(_ session: CRSSession, inWords: Bool, replies: WordedAnswers, rng: inout SeededGenerator,
                        seed: UInt64) -> SpokenEpisode {
        let dataset = simulator.dataset
        var state = simulator.start(session)
        var policy = self.policy
        var turns: [SpokenTurn] = []
        var understood = 0
        var context = AnswerContext.start
        var history = [Self.openingLine(session, dataset: dataset)]
        var replyRNG = SeededGenerator(seed: seed ^ 0x5EED)
        while !state.done {
            let action = policy.act(state, simulator: simulator, rng: &rng)
            let truth: Bool
            switch action {
            case .ask(let a): truth = simulator.confirms(a, session)
            case .recommend(let items): truth = items.contains(session.target)
            }
            guard inWords else {
                _ = simulator.step(action, state: &state)
                policy.observe(action, accepted: truth)
                turns.append(SpokenTurn(action: action, system: "", user: "", reading: ReplyReading(intent: truth ? .accept : .reject, decidedBy: "symbol")))
                understood += 1
                continue
            }
            var sentence = say(action, context: context, history: history, seed: seed &+ UInt64(state.turn))
            let heard: Bool
            switch action {
            case .ask(let a): heard = dataset.attributesMentioned(in: sentence).contains(a)
            case .recommend(let items):
                heard = !dataset.itemsMentioned(in: sentence, among: items).isEmpty
                sentence = Self.askingToTake(sentence, items: items, dataset: dataset)
            }
            let reply = heard ? replies.reply(action, accepted: truth, acceptedItem: truth ? session.target : nil, rng: &replyRNG).text
                : Self.confusedReply
            let reading = reader.read(reply, action: action, dataset: dataset)
            if reading.intent == (truth ? .accept : .reject) { understood += 1 }
            var heardSimulator = simulator
            heardSimulator.channel = ReadReply(intent: reading.intent)
            _ = heardSimulator.step(action, state: &state)
            policy.observe(action, accepted: reading.intent == .accept)
            turns.append(SpokenTurn(action: action, system: sentence, user: reply, reading: reading))
            history += [sentence, reply]
            context = reading.intent == .accept ? .yes : .no
        }
        return SpokenEpisode(turns: turns, succeeded: state.succeeded, understood: understood,
                             accepted: state.succeeded ? session.target : nil)
    }
}
