import Recommender
import Autograd
import Foundation
import NN
import Tensor

// Policies for conversations in words. A rule policy is a pure function of the state; a learned MetaCRS /
// global policy carries a GRU hidden state from turn to turn and remembers the items it recommended in
// vain (the TransGate's rejected-item tokens), so a spoken session keeps one mutable policy value per
// conversation, fresh for each (the cold-start user without exploration or adaptation episodes).

/// Chooses the actions of one conversation; it may remember earlier turns.
public protocol ConversationPolicy {
    mutating func act(_ state: ConversationState, simulator: UserSimulator, rng: inout SeededGenerator) -> CRSAction
    /// The user's answer to `action`, the action `act` returned last.
    mutating func observe(_ action: CRSAction, accepted: Bool)
    /// A recommendation now (the person asked for one).
    mutating func recommend(_ state: ConversationState, simulator: UserSimulator) -> CRSAction
}

extension ConversationPolicy {
    /// The first K_rec candidates in the simulator's order (popularity).
    public mutating func recommend(_ state: ConversationState, simulator: UserSimulator) -> CRSAction {
        .recommend(items: Array(state.candidates.prefix(10)))
    }
}

/// A stateless `CRSPolicy` (MaxE, random) in a conversation.
public struct RuleConversationPolicy<Policy: CRSPolicy>: ConversationPolicy {
    public var policy: Policy
    public init(_ policy: Policy) { self.policy = policy }

    public mutating func act(_ state: ConversationState, simulator: UserSimulator, rng: inout SeededGenerator) -> CRSAction {
        policy.act(state, simulator: simulator, rng: &rng)
    }

    public mutating func observe(_ action: CRSAction, accepted: Bool) {}
}

/// A learned policy network (`task.*` of a MetaCRS or global checkpoint) acting greedily, as in query
/// episodes: argmax over the top-K_A entropy attributes and the top-K_I items; an item action recommends
/// the head of the state-aware ranking (the same choice as `CRSPolicyNetwork.play` with `.greedy`).
public struct LearnedConversationPolicy: ConversationPolicy {
    public let network: CRSPolicyNetwork
    public let parameters: Parameters
    public let embeddings: CRSEmbeddings
    /// GRU state [1, H], zeros for a new user.
    public private(set) var hidden: Tensor
    public private(set) var memory: UserMemory
    public private(set) var lastRejected: [Int] = []

    public init(network: CRSPolicyNetwork, parameters: Parameters, embeddings: CRSEmbeddings) {
        self.network = network
        self.parameters = parameters
        self.embeddings = embeddings
        memory = UserMemory(config: network.config)
        hidden = memory.hidden
    }

    public mutating func act(_ state: ConversationState, simulator: UserSimulator, rng: inout SeededGenerator) -> CRSAction {
        let g = Graph(parameters: parameters, trainable: false)
        let turn = network(g, state: state, simulator: simulator, embeddings: embeddings, hidden: g.constant(hidden),
                           memory: memory, lastRejected: lastRejected)
        hidden = turn.hidden.value                                                     // [1, H]
        memory.pendingReveal = nil
        let logits = turn.logits.value.scalars                                         // [nA]
        // No attribute left to ask and no candidate left: an empty recommendation, which ends the session.
        guard let choice = logits.indices.max(by: { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }) else {
            return .recommend(items: [])
        }
        return choice < turn.attributes.count
            ? .ask(attribute: turn.attributes[choice])
            : .recommend(items: Array(turn.ranking.prefix(network.config.listSize)))
    }

    public mutating func observe(_ action: CRSAction, accepted: Bool) {
        if case .recommend(let items) = action, !accepted { lastRejected = items }
    }

    /// The head of the state-aware ranking, whatever the action head would choose.
    public mutating func recommend(_ state: ConversationState, simulator: UserSimulator) -> CRSAction {
        let g = Graph(parameters: parameters, trainable: false)
        let turn = network(g, state: state, simulator: simulator, embeddings: embeddings, hidden: g.constant(hidden),
                           memory: memory, lastRejected: lastRejected)
        hidden = turn.hidden.value
        memory.pendingReveal = nil
        return .recommend(items: Array(turn.ranking.prefix(network.config.listSize)))
    }
}

extension LearnedConversationPolicy {
    /// The task network of a learned checkpoint (`paml recommend train`) acting greedily for a new user, with the
    /// FM embeddings from the `fm` folder next to it. The checkpoint must be of `dataset`.
    public init(checkpoint folder: URL, dataset: CRSDataset, log: (String) -> Void) throws {
        let saved = try MetaCRS.loadPolicy(from: folder)
        guard saved.config.dataset == dataset.name else {
            throw CheckpointError.badConfig(file: folder.appendingPathComponent("config.json"),
                                            reason: "a policy of \(saved.config.dataset), not \(dataset.name)")
        }
        let fm = try FactorizationMachine.load(from: folder.deletingLastPathComponent().appendingPathComponent("fm"), for: dataset).model
        log("policy: \(saved.config.learner.rawValue) from \(folder.path) (step \(saved.step))")
        self.init(network: CRSPolicyNetwork(prefix: "task", config: saved.config.training.model),
                  parameters: saved.parameters, embeddings: CRSEmbeddings(fm))
    }
}
