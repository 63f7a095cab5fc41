import Foundation
import Recommender
import Tensor

// Simulated users who answer in words, so the language layer is in the loop of a simulated session: each
// true answer becomes a sentence of one of several phrasing families, and the reply reader reads it back.
// The system then acts on what the reader understood, not on the answer (see `UserSimulator.step`): an
// attribute read the wrong way filters the candidates wrongly, an unclear reply counts as a no, and a
// refusal read as a yes ends the session without the user getting anything.

/// The phrasing families of simulated replies (`plain` and `chatty` are the fixed replies of
/// `SimulatedReplies`; `vague` ones hedge, and the reader may fairly fail on them).
public enum ReplyFamily: String, CaseIterable, Sendable {
    case plain, chatty, vague

    static let askAccepted: [ReplyFamily: [String]] = [
        .plain: ["Yes.", "Yeah.", "Sure.", "Yep."],
        .chatty: SimulatedReplies.askAccepted,
        .vague: ["I guess {name} is okay.", "Kind of, depends on my mood.", "Sometimes, yeah, I suppose.",
                 "{name} can be fun I think."],
    ]
    static let askRejected: [ReplyFamily: [String]] = [
        .plain: ["No.", "Nope.", "Nah.", "No thanks."],
        .chatty: SimulatedReplies.askRejected,
        .vague: ["Hmm, {name} is not really what I'm after.", "Eh, not sure about {name}.", "Maybe another time.",
                 "I can take or leave {name}."],
    ]
    static let recommendAccepted: [ReplyFamily: [String]] = [
        .plain: ["Yes.", "Yes please.", "Sure, that one."],
        .chatty: SimulatedReplies.recommendAccepted,
        .vague: ["I suppose {name} could work.", "{name}, maybe, why not.", "Okay, I'll give {name} a try I guess."],
    ]
    static let recommendRejected: [ReplyFamily: [String]] = [
        .plain: ["No.", "Nope.", "No thanks."],
        .chatty: SimulatedReplies.recommendRejected,
        .vague: ["Hmm, those are not quite it.", "Maybe, but not today.", "I'm not sure about any of those."],
    ]

    /// A reply of this family for the answer `accepted` to `action`; `name` is the attribute or the artist taken.
    public func reply(accepted: Bool, action: CRSAction, name: String, rng: inout SeededGenerator) -> String {
        let pools: [ReplyFamily: [String]]
        switch action {
        case .ask: pools = accepted ? Self.askAccepted : Self.askRejected
        case .recommend: pools = accepted ? Self.recommendAccepted : Self.recommendRejected
        }
        let pool = pools[self]!
        return pool[Int(rng.next() % UInt64(pool.count))].replacingOccurrences(of: "{name}", with: name)
    }
}

/// The answer channel of users who answer in words: a family drawn per reply (weights `familyWeights`,
/// in `ReplyFamily.allCases` order), the reply read back by `reader`.
public struct WordedAnswers: CRSAnswerChannel, @unchecked Sendable {
    // @unchecked: the reader's NLI model is read-only after loading; evaluations that use it run on one thread.
    public let reader: ReplyReader
    public let dataset: CRSDataset
    public var familyWeights: [Double]

    public init(reader: ReplyReader, dataset: CRSDataset, familyWeights: [Double] = [0.4, 0.4, 0.2]) {
        precondition(familyWeights.count == ReplyFamily.allCases.count && familyWeights.allSatisfy { $0 >= 0 }
                     && familyWeights.reduce(0, +) > 0, "WordedAnswers: one non-negative weight per family")
        self.reader = reader
        self.dataset = dataset
        self.familyWeights = familyWeights
    }

    /// The reply a user gives (the sentence and its family).
    public func reply(_ action: CRSAction, accepted: Bool, acceptedItem: Int?, rng: inout SeededGenerator)
        -> (text: String, family: ReplyFamily) {
        var u = Double(rng.nextUniform()) * familyWeights.reduce(0, +)
        var family = ReplyFamily.allCases.last!
        for (k, w) in familyWeights.enumerated() {
            u -= w
            if u < 0 { family = ReplyFamily.allCases[k]; break }
        }
        let name: String
        switch action {
        case .ask(let a): name = dataset.attributeLabel(a)
        case .recommend(let items): name = (acceptedItem ?? items.first).map(dataset.itemLabel) ?? "those"
        }
        return (family.reply(accepted: accepted, action: action, name: name, rng: &rng), family)
    }

    public func understood(_ action: CRSAction, accepted: Bool, session: CRSSession, acceptedItem: Int?,
                           rng: inout SeededGenerator) -> Bool? {
        let text = reply(action, accepted: accepted, acceptedItem: acceptedItem, rng: &rng).text
        switch reader.read(text, action: action, dataset: dataset).intent {
        case .accept: return true
        case .reject: return false
        case .unclear: return nil
        }
    }
}
