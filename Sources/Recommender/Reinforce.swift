import Foundation
import Tensor
import Autograd
import NN

// Episodes of the learned policy and the REINFORCE objective (Williams 1992) with a supervised
// recommender term.
//
//   G_t = Σ_{k>=t} γ^{k-t} r_k  (γ = 0.999, within an episode)
//   Â_t = (G_t - mean G) / (std G + 1e-6)   over every turn of a batch of episodes (normalised returns
//                                           serve as the baseline)
//   L = (1 / E) Σ_episodes Σ_t Â_t (-log π(a_t | s_t))  +  λ (1 / Tr) Σ_labelled turns -log softmax_{v in candidates}(w)_target
//       [+ μ (1 / Th) Σ_states -log P(e_u | h)   the paper's identification loss, information-gain explorer only]
// where E is the number of episodes and Tr the number of labelled turns. A turn is labelled when its
// target is known to the learner: always for training users (their targets are data), and for a test
// user only in episodes the user ended by accepting a recommendation (the accepted item is then the
// target, revealed after the fact).

/// Which reward an episode's turns earn.
public enum CRSRewardKind: String, Codable, Sendable {
    /// The simulator's reward (rec_suc 1, rec_fail -0.1, ask_suc 0.1, ask_fail -0.1, quit -0.3).
    case task
    /// The meta-exploration reward for user identification: 1 when the user accepts an item (one of
    /// their items is revealed), 0.1 when they confirm an attribute (one of P_u is revealed), 0 otherwise,
    /// no quit penalty: only what identifies the user's preferences is rewarded.
    case identification
    /// The paper's exploration reward: the gain in log P(e_u | h) an action brings (see Exploration.swift).
    case informationGain
}

/// How actions are chosen.
public enum CRSActing: Sendable {
    /// Sample from π (training, exploration and adaptation episodes).
    case sample
    /// argmax π (query and evaluation episodes).
    case greedy
}

/// One episode of the learned policy, with its tape values when the graph is trainable.
public struct CRSTrace {
    public var session: CRSSession
    public var rewards: [Float] = []
    /// -log π(a_t | s_t) per turn.
    public var negativeLogPolicy: [Var] = []
    /// -log softmax(w)_target per turn (the target is always a candidate until it is accepted).
    public var recommenderLoss: [Var] = []
    /// -log P(e_u | h_t) per GRU state (information-gain exploration only).
    public var identificationLoss: [Var] = []
    public var succeeded = false
    public var turns = 0
    public var totalReward: Float = 0
    public var actions: [CRSAction] = []
    public var events: [CRSEvent] = []
}

/// Discounted returns G_t = r_t + γ G_{t+1}.
public func discountedReturns(_ rewards: [Float], gamma: Float) -> [Float] {
    var out = [Float](repeating: 0, count: rewards.count)
    var running: Float = 0
    for t in stride(from: rewards.count - 1, through: 0, by: -1) {
        running = rewards[t] + gamma * running
        out[t] = running
    }
    return out
}

/// (x - mean) / (std + 1e-6) over all values (population std); empty in, empty out.
public func normalised(_ values: [Float]) -> [Float] {
    guard !values.isEmpty else { return [] }
    let n = Float(values.count)
    let mean = values.reduce(0, +) / n
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
    let std = variance.squareRoot()
    return values.map { ($0 - mean) / (std + 1e-6) }
}

extension CRSPolicyNetwork {
    /// Plays one session to its end on graph `g`. `hidden` is the GRU state on g's tape, carried in and
    /// out (so a trainable graph back-propagates across the user's episodes); `memory` records an
    /// accepted item. The target enters only the simulator and the recommender loss term.
    /// With the `.informationGain` reward, the state after the last answer is encoded too (the reward of the
    /// last action needs it, and the hidden state handed on then holds every answer); `identifier` gives
    /// P(e_u | h) (without it, or for a user it does not know, those rewards are 0).
    public func play(
        _ g: Graph, session: CRSSession, simulator: UserSimulator, embeddings: CRSEmbeddings,
        hidden: inout Var, memory: inout UserMemory, acting: CRSActing, reward kind: CRSRewardKind = .task,
        identifier: UserIdentifier? = nil, rng: inout SeededGenerator
    ) -> CRSTrace {
        var state = simulator.start(session)
        var trace = CRSTrace(session: session)
        var lastRejected: [Int] = []
        let identityRow = kind == .informationGain ? identifier?.rows[session.user] : nil
        var logIdentity: [Float] = []   // log P(e_u | h) of each state h_1 ... h_{T+1}
        var scored: [(scores: Var, candidates: [Int])] = []
        func identify(_ h: Var) {
            guard let identifier, let row = identityRow else { return }
            let loss = identifier.loss(g, hidden: h, row: row)
            logIdentity.append(-loss.value.scalars[0])
            if g.trainable { trace.identificationLoss.append(loss) }
        }
        while !state.done {
            let turn = self(g, state: state, simulator: simulator, embeddings: embeddings, hidden: hidden,
                            memory: memory, lastRejected: lastRejected)
            hidden = turn.hidden
            identify(hidden)
            memory.pendingReveal = nil
            let probabilities = softmaxValues(turn.logits.value.scalars)
            // Nothing left to ask or recommend (answers that were wrong filtered the target out): the user leaves
            // without an item. Only noisy or misread users get here; the exact user's target stays a candidate.
            guard !probabilities.isEmpty else {
                state.done = true
                break
            }
            let choice: Int
            switch acting {
            case .greedy: choice = CRSPolicyNetwork.topIndices(probabilities, count: 1)[0]
            case .sample: choice = sampleIndex(probabilities, using: &rng)
            }
            let action: CRSAction = choice < turn.attributes.count
                ? .ask(attribute: turn.attributes[choice])
                : .recommend(items: Array(turn.ranking.prefix(config.listSize)))
            if g.trainable {
                trace.negativeLogPolicy.append(crossEntropy(logits: turn.logits, targets: [choice], reduction: .sum))
                scored.append((turn.scores, turn.candidates))
            }
            let step = simulator.step(action, state: &state)
            if case .recommend(let items) = action, !state.succeeded { lastRejected = items }
            let r: Float
            switch kind {
            case .task: r = step.reward
            case .identification:
                r = step.event == .recommendAccepted ? 1 : step.event == .askAccepted ? 0.1 : 0
            case .informationGain: r = 0   // filled in below, once h_{t+1} is known
            }
            trace.rewards.append(r)
            trace.actions.append(action)
            trace.events.append(step.event)
        }
        if kind == .informationGain {
            hidden = recurrent(g, state: state, simulator: simulator, embeddings: embeddings, hidden: hidden,
                               memory: memory, lastRejected: lastRejected).hidden
            identify(hidden)
            if logIdentity.count == trace.rewards.count + 1 {
                for t in trace.rewards.indices { trace.rewards[t] = logIdentity[t + 1] - logIdentity[t] }
            }
        }
        // The recommender's label: the item the user took, else (training users) the target.
        let label = state.acceptedItem ?? session.target
        for (scores, candidates) in scored {
            if let position = candidates.firstIndex(of: label) {
                trace.recommenderLoss.append(crossEntropy(logits: scores, targets: [position], reduction: .sum))
            }
        }
        trace.succeeded = state.succeeded
        trace.turns = state.succeeded ? state.turn : simulator.maxTurns
        trace.totalReward = trace.rewards.reduce(0, +)
        if state.succeeded { memory.accept(label, embedding: embeddings.itemRow(label)) }
        return trace
    }
}

/// The REINFORCE + recommender loss of a batch of traces (see the file header). `labelled` says per
/// trace whether its recommender term counts. Returns nil when nothing in the batch carries a gradient.
public func reinforceLoss(_ traces: [CRSTrace], labelled: [Bool], gamma: Float = 0.999,
                          recommenderWeight: Float = 1, identificationWeight: Float = 0) -> Var? {
    precondition(labelled.count == traces.count, "reinforceLoss: \(labelled.count) flags for \(traces.count) traces")
    let advantages = normalised(traces.flatMap { discountedReturns($0.rewards, gamma: gamma) })
    var terms: [Var] = []
    var k = 0
    let episodes = Float(max(traces.count, 1))
    for trace in traces {
        for nll in trace.negativeLogPolicy {
            terms.append(nll * (advantages[k] / episodes))
            k += 1
        }
    }
    let recommenderTerms = zip(traces, labelled).filter { $0.1 }.flatMap { $0.0.recommenderLoss }
    if !recommenderTerms.isEmpty {
        let scale = recommenderWeight / Float(recommenderTerms.count)
        terms += recommenderTerms.map { $0 * scale }
    }
    let identificationTerms = traces.flatMap(\.identificationLoss)
    if identificationWeight > 0, !identificationTerms.isEmpty {
        let scale = identificationWeight / Float(identificationTerms.count)
        terms += identificationTerms.map { $0 * scale }
    }
    guard var total = terms.first else { return nil }
    for term in terms.dropFirst() { total = total + term }
    return total
}

/// Softmax of a small vector (action probabilities).
func softmaxValues(_ x: [Float]) -> [Float] {
    let m = x.max() ?? 0
    let e = x.map { exp($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

/// An index drawn with the given probabilities.
func sampleIndex(_ p: [Float], using rng: inout SeededGenerator) -> Int {
    let u = rng.nextUniform()
    var acc: Float = 0
    for (i, q) in p.enumerated() {
        acc += q
        if u < acc { return i }
    }
    return p.count - 1
}
