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

    public init(user: Int, target: Int, opening: Int?) {
        self.user = user
        self.target = target
        self.opening = opening
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
        return CRSSession(user: user, target: target, opening: opening)
    }

    /// The state before turn 1.
    public func start(_ session: CRSSession) -> ConversationState {
        var state = ConversationState(session: session, candidates: itemOrder)
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
            if confirms(attribute, state.session) {
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
            if items.contains(state.session.target) {
                event = .recommendAccepted
                reward = rewards.recommendSuccess
                state.succeeded = true
                state.done = true
            } else {
                event = .recommendRejected
                reward = rewards.recommendFailure
                state.rejectedItems.formUnion(items)
                let rejected = Set(items)
                state.candidates.removeAll { rejected.contains($0) }
            }
        }
        if !state.succeeded && state.turn >= maxTurns {
            event = .quit
            reward = rewards.quit
            state.done = true
        }
        return CRSStep(event: event, reward: reward, done: state.done)
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
