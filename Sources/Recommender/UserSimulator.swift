import Foundation
import Tensor

// The user-centric simulator of MetaCRS (after EAR, Lei et al. 2020, and UNICORN, Deng et al. 2021).
//
// A session is a user u and a target item v drawn from u's interactions. The system asks attributes or
// recommends item lists, one per turn, for at most T = 10 turns:
//   ask a:        the user confirms iff a in P_u ∩ P_v (reward ask_suc 0.1), else rejects (ask_fail -0.1)
//   recommend L:  the user accepts iff v in L (rec_suc 1, session ends), else rejects (rec_fail -0.1)
//   turn T reached without success: the user quits; that turn's reward is quit (-0.3) instead
//   (UNICORN's environment replaces the last reward with r_quit the same way).
//
// Design notes
// - Candidate items are the items whose P_v holds every accepted attribute, minus rejected items.
//   A rejected attribute does not filter items: under the user-centric simulator the user rejects
//   attributes of v that are not in P_u, so rejection says nothing about v's attributes.
// - With `opensWithAttribute` the user states one attribute of P_u ∩ P_v before turn 1 (EAR / UNICORN
//   start every session this way); it costs no turn and earns no reward.
// - Every random choice of an episode comes from a generator seeded by (seed, episode index), so an
//   episode is reproducible alone and episodes can run in any order.

/// Rewards of the MetaCRS simulator (its Table "settings"; the same as UNICORN's).
public struct CRSRewards: Equatable, Sendable {
    public var recommendSuccess: Float = 1
    public var recommendFailure: Float = -0.1
    public var askSuccess: Float = 0.1
    public var askFailure: Float = -0.1
    public var quit: Float = -0.3

    public init() {}
    public static let metaCRS = CRSRewards()
}

/// What the system does in one turn.
public enum CRSAction: Equatable, Sendable {
    case ask(attribute: Int)
    case recommend(items: [Int])
}

/// How the user answered a turn.
public enum CRSEvent: String, Equatable, Sendable {
    case askAccepted, askRejected, recommendAccepted, recommendRejected, quit
}

/// The (user, target item) pair of one session.
public struct CRSSession: Equatable, Sendable {
    public var user: Int
    public var target: Int
    /// The attribute the user opened with, if any.
    public var opening: Int?
    /// Seed of the user's own random choices (noisy answers, choice, patience); 0 for the exact user.
    public var userSeed: UInt64

    public init(user: Int, target: Int, opening: Int?, userSeed: UInt64 = 0) {
        self.user = user
        self.target = target
        self.opening = opening
        self.userSeed = userSeed
    }
}

/// Turns the user's true answer into what the system understands of it (words read back by a reader, say).
/// Returns nil when the system cannot tell (it then counts as a no).
public protocol CRSAnswerChannel: Sendable {
    func understood(_ action: CRSAction, accepted: Bool, session: CRSSession, acceptedItem: Int?,
                    rng: inout SeededGenerator) -> Bool?
}

/// How simulated users behave: a documented, swappable user model in the manner of RecSim (Ie et al.
/// 2019). `.exact` is the MetaCRS user (P_u ∩ P_v answers, success iff the target is in the list, patience
/// T turns); each other part is one named, seeded deviation from it.
public struct CRSUserModel: Codable, Equatable, Sendable {
    /// Probability ε that an attribute answer is flipped (the user says yes to what they do not want, or no).
    public var answerNoise = 0.0
    /// Choice over a recommended list; nil: accept iff the target is in it.
    public var choice: LogitChoice?
    /// Patience: after the f-th failed turn (f = 1, 2, ...) the user quits with probability
    /// min(1, quitBase + quitSlope * f).
    public var quitBase = 0.0
    public var quitSlope = 0.0

    public init(answerNoise: Double = 0, choice: LogitChoice? = nil, quitBase: Double = 0, quitSlope: Double = 0) {
        self.answerNoise = answerNoise
        self.choice = choice
        self.quitBase = quitBase
        self.quitSlope = quitSlope
    }

    public static let exact = CRSUserModel()
    /// Does the user make random choices (and so need a seed of their own)?
    public var isStochastic: Bool { answerNoise > 0 || choice != nil || quitBase > 0 || quitSlope > 0 }
}

/// Multinomial logit choice over a recommended list with a no-choice option:
///   utility(v) = affinity * |P_u ∩ P_v| / |P_v| + liked * [v is one of u's items] + target * [v is the target]
///   P(v) = exp(utility(v)) / (exp(noChoice) + Σ_{v' in list} exp(utility(v'))),  P(none) likewise.
/// The session succeeds when the user takes any item; the item taken is the one recorded as accepted.
public struct LogitChoice: Codable, Equatable, Sendable {
    // Defaults: with the target in a list of ten the user takes it about 80% of the time and walks away about 15%;
    // a list without it is taken (some other item) about 10-20% of the time.
    public var affinity = 1.0
    public var liked = 2.0
    public var target = 6.0
    public var noChoice = 5.0

    public init(affinity: Double = 1, liked: Double = 2, target: Double = 6, noChoice: Double = 5) {
        self.affinity = affinity
        self.liked = liked
        self.target = target
        self.noChoice = noChoice
    }
}

/// Conversation state after some turns.
public struct ConversationState: Sendable {
    public let session: CRSSession
    public var acceptedAttributes: UInt64 = 0
    public var rejectedAttributes: UInt64 = 0
    public var rejectedItems: Set<Int> = []
    /// Items consistent with the accepted attributes, minus rejected items, in the simulator's item order.
    public var candidates: [Int]
    /// Turns used so far (0 before the first action).
    public var turn: Int = 0
    public var done = false
    public var succeeded = false
    /// The item the user took (the target for the exact user).
    public var acceptedItem: Int?
    /// Failed turns so far (for patience).
    public var failedTurns = 0
    /// The user's own random choices.
    public var userRNG = SeededGenerator(seed: 0)

    /// Attributes already asked (accepted or rejected), as a mask.
    public var askedAttributes: UInt64 { acceptedAttributes | rejectedAttributes }
}

/// The answer to one action.
public struct CRSStep: Equatable, Sendable {
    public var event: CRSEvent
    public var reward: Float
    public var done: Bool
}

/// Which interactions supply target items.
public enum CRSInteractionSource: String, CaseIterable, Sendable {
    /// interaction.csv: MetaCRS's 40 sampled interactions per user.
    case sampled
    /// user_item.json: the observed interactions.
    case observed
}

/// The user simulator over one dataset.
public struct UserSimulator: Sendable {
    public let dataset: CRSDataset
    /// Target items per user.
    public let interactions: [[Int]]
    public var maxTurns: Int
    public var rewards: CRSRewards
    public var opensWithAttribute: Bool
    /// The order candidate lists keep (filtering preserves it); default item id order.
    public let itemOrder: [Int]
    /// How the users behave (default: the MetaCRS user).
    public var userModel = CRSUserModel.exact
    /// What the system understands of each answer (nil: the answer itself).
    public var channel: (any CRSAnswerChannel)?
    /// Each user's items as a set (the logit choice's "liked" term).
    private let likedItems: [Set<Int>]

    public init(
        dataset: CRSDataset, interactions: [[Int]], maxTurns: Int = 10, rewards: CRSRewards = .metaCRS,
        opensWithAttribute: Bool = true, itemOrder: [Int]? = nil
    ) {
        precondition(interactions.count == dataset.userCount, "interactions for \(interactions.count) users, dataset has \(dataset.userCount)")
        precondition(maxTurns > 0, "maxTurns must be positive")
        self.dataset = dataset
        self.interactions = interactions
        self.maxTurns = maxTurns
        self.rewards = rewards
        self.opensWithAttribute = opensWithAttribute
        let order = itemOrder ?? Array(0..<dataset.itemCount)
        precondition(order.count == dataset.itemCount && Set(order).count == order.count, "itemOrder must be a permutation of the items")
        self.itemOrder = order
        likedItems = interactions.map(Set.init)
    }

    /// A simulator whose targets come from `source`.
    public init(dataset: CRSDataset, source: CRSInteractionSource, maxTurns: Int = 10,
                opensWithAttribute: Bool = true, itemOrder: [Int]? = nil) {
        self.init(dataset: dataset,
                  interactions: source == .sampled ? dataset.sampledInteractions : dataset.userItems,
                  maxTurns: maxTurns, opensWithAttribute: opensWithAttribute, itemOrder: itemOrder)
    }

    /// The generator of episode `index` under `seed` (SplitMix-style mixing keeps streams apart).
    public static func episodeGenerator(seed: UInt64, index: Int) -> SeededGenerator {
        SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
    }

    /// Draws episode `index`: a user of `users` with at least one interaction, uniformly, then a target
    /// uniformly from that user's interactions, then (if enabled) the opening attribute from P_u ∩ P_v.
    public func drawSession(users: [Int], index: Int, using rng: inout SeededGenerator) -> CRSSession {
        let eligible = users.filter { !interactions[$0].isEmpty }
        precondition(!eligible.isEmpty, "no user of the split has interactions")
        let user = eligible[Int.random(in: 0..<eligible.count, using: &rng)]
        let items = interactions[user]
        let target = items[Int.random(in: 0..<items.count, using: &rng)]
        var opening: Int?
        if opensWithAttribute {
            let shared = Self.attributes(in: dataset.userMasks[user] & dataset.itemMasks[target])
            if !shared.isEmpty { opening = shared[Int.random(in: 0..<shared.count, using: &rng)] }
        }
        // The exact user draws nothing more, so its sessions (and every result measured with it) stay as they were.
        let userSeed = userModel.isStochastic || channel != nil ? rng.next() | 1 : 0
        return CRSSession(user: user, target: target, opening: opening, userSeed: userSeed)
    }

    /// The state before turn 1.
    public func start(_ session: CRSSession) -> ConversationState {
        var state = ConversationState(session: session, candidates: itemOrder)
        state.userRNG = SeededGenerator(seed: session.userSeed)
        if let a = session.opening {
            state.acceptedAttributes = 1 << UInt64(a)
            state.candidates = filter(itemOrder, required: state.acceptedAttributes)
        }
        return state
    }

    /// Does the user like attribute a (a in P_u ∩ P_v)?
    public func confirms(_ attribute: Int, _ session: CRSSession) -> Bool {
        (dataset.userMasks[session.user] & dataset.itemMasks[session.target]) >> UInt64(attribute) & 1 == 1
    }

    /// Applies one action, advancing the turn and updating the state.
    public func step(_ action: CRSAction, state: inout ConversationState) -> CRSStep {
        precondition(!state.done, "step on a finished session")
        state.turn += 1
        var event: CRSEvent
        var reward: Float
        switch action {
        case .ask(let attribute):
            precondition(attribute >= 0 && attribute < dataset.attributeCount, "attribute \(attribute) out of range")
            let bit: UInt64 = 1 << UInt64(attribute)
            var answer = confirms(attribute, state.session)
            if userModel.answerNoise > 0, Double(state.userRNG.nextUniform()) < userModel.answerNoise { answer.toggle() }
            if let channel {
                answer = channel.understood(action, accepted: answer, session: state.session, acceptedItem: nil,
                                            rng: &state.userRNG) ?? false
            }
            if answer {
                event = .askAccepted
                reward = rewards.askSuccess
                if state.acceptedAttributes & bit == 0 {
                    state.acceptedAttributes |= bit
                    state.candidates = filter(state.candidates, required: bit)
                }
            } else {
                event = .askRejected
                reward = rewards.askFailure
                state.rejectedAttributes |= bit
            }
        case .recommend(let items):
            let taken = choose(from: items, session: state.session, rng: &state.userRNG)
            // With words in between, the system may read a refusal as a yes: it then stops, and the session
            // is a failure (the user got nothing); a yes read as a no still ends in success (the user has the item).
            let readAsAccepted = channel.map {
                $0.understood(action, accepted: taken != nil, session: state.session, acceptedItem: taken, rng: &state.userRNG) ?? false
            } ?? (taken != nil)
            if taken != nil || readAsAccepted {
                event = taken != nil ? .recommendAccepted : .recommendRejected
                reward = taken != nil ? rewards.recommendSuccess : rewards.recommendFailure
                state.succeeded = taken != nil
                state.acceptedItem = taken
                state.done = true
            } else {
                event = .recommendRejected
                reward = rewards.recommendFailure
                state.rejectedItems.formUnion(items)
                let rejected = Set(items)
                state.candidates.removeAll { rejected.contains($0) }
            }
        }
        if !state.succeeded && event != .askAccepted { state.failedTurns += 1 }
        let quitProbability = min(1, userModel.quitBase + userModel.quitSlope * Double(state.failedTurns))
        let outOfPatience = !state.succeeded && !state.done && event != .askAccepted && quitProbability > 0
            && Double(state.userRNG.nextUniform()) < quitProbability
        if !state.succeeded && (state.turn >= maxTurns || outOfPatience) {
            event = .quit
            reward = rewards.quit
            state.done = true
        }
        return CRSStep(event: event, reward: reward, done: state.done)
    }

    /// The item the user takes from a recommended list, if any (see `CRSUserModel.choice`).
    func choose(from items: [Int], session: CRSSession, rng: inout SeededGenerator) -> Int? {
        guard let choice = userModel.choice else { return items.contains(session.target) ? session.target : nil }
        guard !items.isEmpty else { return nil }
        let userMask = dataset.userMasks[session.user]
        let utilities = items.map { v -> Double in
            let own = dataset.itemMasks[v]
            let overlap = own == 0 ? 0 : Double((own & userMask).nonzeroBitCount) / Double(own.nonzeroBitCount)
            return choice.affinity * overlap + (likedItems[session.user].contains(v) ? choice.liked : 0)
                + (v == session.target ? choice.target : 0)
        }
        let top = max(utilities.max()!, choice.noChoice)
        let weights = utilities.map { exp($0 - top) }
        let total = weights.reduce(exp(choice.noChoice - top), +)
        var u = Double(rng.nextUniform()) * total
        for (k, w) in weights.enumerated() {
            u -= w
            if u < 0 { return items[k] }
        }
        return nil
    }

    /// Items of `items` whose attribute mask holds every bit of `required`, order kept.
    public func filter(_ items: [Int], required: UInt64) -> [Int] {
        dataset.itemMasks.withUnsafeBufferPointer { masks in
            items.filter { masks[$0] & required == required }
        }
    }

    /// The attribute ids set in a mask, ascending.
    public static func attributes(in mask: UInt64) -> [Int] {
        var out: [Int] = []
        var m = mask
        while m != 0 {
            out.append(m.trailingZeroBitCount)
            m &= m - 1
        }
        return out
    }
}

extension CRSAction {
    public struct ParseError: Error, CustomStringConvertible { public var description: String }

    /// Questions about comma-separated attribute names, then one recommendation of comma-separated item ids
    /// ("rock,90s" and "0,1,2"), checked against the dataset.
    public static func parse(asking attributes: String, recommending items: String, in d: CRSDataset) throws -> [CRSAction] {
        var actions: [CRSAction] = try attributes.split(separator: ",").map { name in
            guard let a = d.attributeNames?.firstIndex(of: String(name)) else {
                throw ParseError(description: "--attributes: no \(d.name) attribute named \(name)")
            }
            return .ask(attribute: a)
        }
        let list = items.split(separator: ",").compactMap { Int($0) }
        guard !list.isEmpty, list.allSatisfy({ $0 >= 0 && $0 < d.itemCount }) else {
            throw ParseError(description: "--items: comma-separated item ids in 0..<\(d.itemCount)")
        }
        actions.append(.recommend(items: list))
        return actions
    }
}
