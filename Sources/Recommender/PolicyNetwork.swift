import Foundation
import Tensor
import Autograd
import NN

// The MetaCRS policy network: TransGate state encoder, a GRU whose hidden state carries across one
// user's episodes, the state-aware item recommender and the action head over K_A + K_I actions.
// Shapes: N candidates, D FM embedding width, C encoder width, H GRU width, S = C + H + D state width,
// nA <= K_A + K_I actions.
//
// One turn (the ONE forward used by training, adaptation, evaluation and the benchmark):
//   z  = TransGate(accepted +e_a, rejected -e_a, rejected -e_v, features)      [1, C]
//   h' = GRU([z ; r], h)   r = e_v of the item the user accepted last episode    [1, H]
//   s  = [z ; h' ; m]      m = mean e_v of the items this user accepted so far   [1, S]
//   (r, m and β below are our memory features; `CRSModelConfig.paperForm` drops all three: h' = GRU(z, h),
//   s = [z ; h'], w_v = e_v . (W s + b) as in the paper)
//   recommender   w_v = e_v . (W s + b) + β [v accepted by this user before]     [1, N]
//                 (the β term is our addition: an item the user took in an earlier conversation is
//                 evidence the paper's formula cannot hold, as e_v . (W s + b) forgets item identity)
//   actions       the K_A unasked attributes of largest entropy over the candidates (none on the last
//                 turn: an ask there can never end in success) + the K_I items of largest w_v
//   policy        π(x | s) = softmax_x(e_x . (U s + c))  over the action embeddings e_x  [1, nA]
// Choosing an attribute asks it; choosing any item recommends the K_rec items of largest w_v
// (UNICORN's convention). FM tables are frozen inputs, never trained here.

/// Frozen FM embeddings the networks read: items [I, D] and attributes [A, D].
public struct CRSEmbeddings: Sendable {
    public let item: Tensor
    public let attribute: Tensor
    /// Users [U, D] (rows of training users are trained; the paper's exploration reward reads them).
    public let user: Tensor?
    public var dimension: Int { item.shape[1] }

    public init(item: Tensor, attribute: Tensor, user: Tensor? = nil) {
        precondition(item.rank == 2 && attribute.rank == 2 && item.shape[1] == attribute.shape[1],
                     "CRSEmbeddings: item \(item.shape) and attribute \(attribute.shape) must be [_, D]")
        precondition(user.map { $0.rank == 2 && $0.shape[1] == item.shape[1] } ?? true, "CRSEmbeddings: user table must be [_, D]")
        self.item = item
        self.attribute = attribute
        self.user = user
    }

    public init(_ fm: FactorizationMachine) {
        self.init(item: Tensor(shape: [fm.itemCount, fm.dimension], scalars: fm.item),
                  attribute: Tensor(shape: [fm.attributeCount, fm.dimension], scalars: fm.attribute),
                  user: Tensor(shape: [fm.userCount, fm.dimension], scalars: fm.user))
    }

    /// Rows of a table, each multiplied by its sign. -> [rows.count, D]
    func rows(_ table: Tensor, _ ids: [Int], signs: [Float]) -> Tensor {
        let d = dimension
        var out = [Float](repeating: 0, count: ids.count * d)
        table.scalars.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { o in
                for (k, id) in ids.enumerated() {
                    let s = signs[k]
                    for c in 0..<d { o[k * d + c] = s * t[id * d + c] }
                }
            }
        }
        return Tensor(shape: [ids.count, d], scalars: out)
    }

    func itemRow(_ v: Int) -> [Float] { Array(item.scalars[(v * dimension)..<((v + 1) * dimension)]) }
}

/// What one user has revealed so far, carried across that user's episodes.
public struct UserMemory: Sendable {
    /// GRU hidden state [1, H].
    public var hidden: Tensor
    /// Sum of e_v over accepted items, and their count (m = sum / count).
    public var acceptedSum: [Float]
    public var acceptedCount = 0
    /// Items this user accepted in earlier episodes.
    public var acceptedItems: Set<Int> = []
    /// e_v of the item accepted in the previous episode, fed to the GRU at the next turn (then cleared).
    public var pendingReveal: [Float]?

    public init(config: CRSModelConfig) {
        hidden = Tensor(zeros: [1, config.hidden])
        acceptedSum = [Float](repeating: 0, count: config.embedding)
    }

    /// m = mean e_v of accepted items (zeros before any). [D]
    public var mean: [Float] {
        acceptedCount == 0 ? acceptedSum : acceptedSum.map { $0 / Float(acceptedCount) }
    }

    /// Records that the user accepted `item`, whose embedding is `e`.
    public mutating func accept(_ item: Int, embedding e: [Float]) {
        for c in 0..<e.count { acceptedSum[c] += e[c] }
        acceptedCount += 1
        acceptedItems.insert(item)
        pendingReveal = e
    }
}

/// The outcome of one forward turn.
public struct CRSTurn {
    /// Next hidden state [1, H].
    public var hidden: Var
    /// s = [z ; h' ; m] [1, S].
    public var state: Var
    /// Action logits [1, nA]; the first `attributes.count` are attribute actions.
    public var logits: Var
    public var attributes: [Int]
    /// The K_I items of largest w_v, best first (the item actions; the recommendation list is its prefix).
    public var ranking: [Int]
    /// w_v over `candidates` [1, N].
    public var scores: Var
    public var candidates: [Int]
}

/// The policy network (names `<prefix>.encoder.*`, `<prefix>.gru.*`, `<prefix>.head.*`, `<prefix>.recommender.*`,
/// `<prefix>.repeatBonus` [1, 1] = β, initially 0).
public struct CRSPolicyNetwork: Sendable {
    public let prefix: String
    public let config: CRSModelConfig

    public init(prefix: String, config: CRSModelConfig) {
        self.prefix = prefix
        self.config = config
    }

    public var encoder: TransGate { TransGate(name: "\(prefix).encoder", config: config) }
    public var gru: GRU { GRU(name: "\(prefix).gru", inputSize: config.gruInput, hiddenSize: config.hidden) }
    /// U s + c: the action query.
    public var head: Linear { Linear(name: "\(prefix).head", inputSize: config.stateWidth, outputSize: config.embedding) }
    /// W s + b: the recommender's query.
    public var recommender: Linear { Linear(name: "\(prefix).recommender", inputSize: config.stateWidth, outputSize: config.embedding) }

    public func initialize(into p: inout Parameters, using rng: inout SeededGenerator) {
        encoder.initialize(into: &p, using: &rng)
        gru.initialize(into: &p, using: &rng)
        head.initialize(into: &p, using: &rng)
        recommender.initialize(into: &p, using: &rng)
        if config.repeatBonus { p["\(prefix).repeatBonus"] = Tensor(zeros: [1, 1]) }
    }

    /// Fresh parameters of this network alone.
    public func initialParameters(seed: UInt64) -> Parameters {
        var rng = SeededGenerator(seed: seed)
        var p = Parameters()
        initialize(into: &p, using: &rng)
        return p
    }

    /// One turn's forward (see the file header). `lastRejected`: the items of the previous rejected
    /// recommendation (the encoder's item tokens).
    public func callAsFunction(
        _ g: Graph, state: ConversationState, simulator: UserSimulator, embeddings e: CRSEmbeddings,
        hidden: Var, memory: UserMemory, lastRejected: [Int]
    ) -> CRSTurn {
        let (h, s) = recurrent(g, state: state, simulator: simulator, embeddings: e, hidden: hidden, memory: memory,
                               lastRejected: lastRejected)
        return heads(g, state: state, simulator: simulator, embeddings: e, hidden: h, s: s, memory: memory)
    }

    /// The encoder and the GRU: the next hidden state h' [1, H] and the state s [1, S].
    public func recurrent(
        _ g: Graph, state: ConversationState, simulator: UserSimulator, embeddings e: CRSEmbeddings,
        hidden: Var, memory: UserMemory, lastRejected: [Int]
    ) -> (hidden: Var, state: Var) {
        let d = config.embedding
        // Encoder tokens.
        let accepted = UserSimulator.attributes(in: state.acceptedAttributes)
        let rejected = UserSimulator.attributes(in: state.rejectedAttributes & ~state.acceptedAttributes)
        let attributeIDs = accepted + rejected
        let attributeTokens = attributeIDs.isEmpty ? nil : g.constant(e.rows(
            e.attribute, attributeIDs, signs: accepted.map { _ in 1 } + rejected.map { _ in -1 }))   // [Na, D]
        let itemIDs = Array(lastRejected.prefix(config.itemTokens))
        let itemTokens = itemIDs.isEmpty ? nil : g.constant(e.rows(e.item, itemIDs, signs: itemIDs.map { _ in -1 }))  // [Ni, D]
        let features = g.constant(Tensor(shape: [1, 2], scalars: [
            Float(state.turn) / Float(simulator.maxTurns),
            log(1 + Float(state.candidates.count)) / log(1 + Float(simulator.dataset.itemCount)),
        ]))
        let z = encoder(g, attributes: attributeTokens, items: itemTokens, features: features)       // [1, C]

        // GRU over turns, carried across episodes.
        var gruInput = z
        if config.revealInput {
            let reveal = g.constant(Tensor(shape: [1, d], scalars: memory.pendingReveal ?? [Float](repeating: 0, count: d)))
            gruInput = concatenate([z, reveal], axis: 1)                                          // [1, C + D]
        }
        let h = gruCell(input: gruInput, hidden: hidden,
                        weightIH: g.param("\(gru.name).weight_ih"), weightHH: g.param("\(gru.name).weight_hh"),
                        biasIH: g.param("\(gru.name).bias_ih"), biasHH: g.param("\(gru.name).bias_hh"))  // [1, H]
        var s = concatenate([z, h], axis: 1)                                                      // [1, C + H]
        if config.meanAccepted {
            s = concatenate([s, g.constant(Tensor(shape: [1, d], scalars: memory.mean))], axis: 1)  // [1, S]
        }
        return (h, s)
    }

    /// The recommender and the action head on state s.
    func heads(
        _ g: Graph, state: ConversationState, simulator: UserSimulator, embeddings e: CRSEmbeddings,
        hidden h: Var, s: Var, memory: UserMemory
    ) -> CRSTurn {
        // State-aware recommender w_v = e_v . (W s + b).
        let candidates = state.candidates
        let candidateTable = g.constant(e.rows(e.item, candidates, signs: [Float](repeating: 1, count: candidates.count)))  // [N, D]
        var scores = matmul(recommender(g, s), candidateTable, transposeB: true)                 // [1, N]
        if config.repeatBonus, !memory.acceptedItems.isEmpty {
            let seen = Tensor(shape: [1, candidates.count],
                              scalars: candidates.map { memory.acceptedItems.contains($0) ? 1 : 0 })
            scores = scores + matmul(g.param("\(prefix).repeatBonus"), g.constant(seen))            // [1, N]
        }
        let ranking = Self.topIndices(scores.value.scalars, count: config.itemActions).map { candidates[$0] }

        // Action space: top-K_A attributes by entropy (none on the last turn), top-K_I items.
        var attributes: [Int] = []
        if state.turn + 1 < simulator.maxTurns {
            let entropies = MaxEntropyPolicy.entropies(candidates, masks: simulator.dataset.itemMasks,
                                                       attributeCount: simulator.dataset.attributeCount)
            let unasked = (0..<entropies.count).filter { state.askedAttributes >> UInt64($0) & 1 == 0 && entropies[$0] > 0 }
            attributes = Array(unasked.sorted { entropies[$0] > entropies[$1] || (entropies[$0] == entropies[$1] && $0 < $1) }
                .prefix(config.attributeActions))
        }
        let actionTable = g.constant(Tensor.concatenate(rows: [
            e.rows(e.attribute, attributes, signs: attributes.map { _ in 1 }),
            e.rows(e.item, ranking, signs: ranking.map { _ in 1 }),
        ]))                                                                                       // [nA, D]
        let logits = matmul(head(g, s), actionTable, transposeB: true)                           // [1, nA]
        return CRSTurn(hidden: h, state: s, logits: logits, attributes: attributes, ranking: ranking, scores: scores,
                       candidates: candidates)
    }

    /// Positions of the `count` largest values, largest first (ties: lower position first).
    public static func topIndices(_ values: [Float], count: Int) -> [Int] {
        var best: [Int] = []
        best.reserveCapacity(count + 1)
        values.withUnsafeBufferPointer { v in
            for i in 0..<v.count {
                if best.count == count, let last = best.last, v[i] <= v[last] { continue }
                var k = best.count
                while k > 0 && v[best[k - 1]] < v[i] { k -= 1 }
                best.insert(i, at: k)
                if best.count > count { best.removeLast() }
            }
        }
        return best
    }
}
