import Foundation
import Tensor
import Autograd
import NN

// MetaCRS (Chu et al. 2023, "Meta Policy Learning for Cold-Start Conversational Recommendation"):
// first-order meta-learning of the policy over users, a separate meta-exploration policy, and the
// evaluation protocol shared by every learned method and baseline.
//
// Per user u (training: a meta-user; evaluation: a test user), episodes are numbered
//   0 ..< 5    exploration  (explorer network, identification reward)
//   5 ..< 15   adaptation   (task network; local SGD, lr 0.01, one step per chunk of 5 episodes)
//   15 ..< 25  query        (task network with the adapted weights θ'_u)
// and episode j draws its session from u's interactions with the generator (seed, u * 64 + j), so every
// method meets the same sessions. The user's memory (GRU state, mean accepted-item embedding) is carried
// across all of u's episodes; the GRU state restarts at zero when the task network takes over from the
// explorer (the two networks' hidden states mean different things).
//
// Meta-update (first order, as FOMAML): θ <- Adam(θ, (1/|U|) Σ_u ∇_θ' L_query(θ'_u)), lr 0.005, L2 1e-6,
// 5 users per meta-epoch; the explorer's REINFORCE gradient (identification reward) joins the same update.
// The global baseline (UNICORN-like) is the task network trained by REINFORCE on independent episodes of
// all training users, with the memory reset every episode.

/// Training settings; the defaults are the paper's where it gives them.
public struct CRSTrainingConfig: Codable, Equatable, Sendable {
    public var model = CRSModelConfig()
    public var gamma: Float = 0.999
    /// Meta (outer) Adam: lr 0.005, L2 1e-6. The global baseline uses the same optimizer.
    public var metaLearningRate: Float = 0.005
    public var l2: Float = 1e-6
    /// Local (inner) SGD.
    public var localLearningRate: Float = 0.01
    public var explorationEpisodes = 5
    public var adaptationEpisodes = 10
    public var queryEpisodes = 10
    /// Adaptation episodes per local SGD step.
    public var adaptationChunk = 5
    public var usersPerMetaEpoch = 5
    /// Episodes per update of the global baseline (matches the 5 users x 10 query episodes of a meta-epoch).
    public var globalBatch = 50
    /// λ, the weight of the recommender's cross-entropy.
    public var recommenderWeight: Float = 1
    /// Gradient global-norm clip.
    public var clip: Float = 5
    public var seed: UInt64 = 1
    /// The explorer's reward: ours (.identification: a confirmed attribute or accepted item) or the
    /// paper's (.informationGain).
    public var explorerReward: CRSRewardKind = .identification
    /// μ, the weight of the paper's user-identification loss on the explorer's state (0 = off).
    public var identificationWeight: Float = 0
    /// The task policy starts from the explorer's last hidden state h_e (the paper's Algorithm 1);
    /// false: from zeros.
    public var handOffExplorerState = false

    public init() {}

    /// The paper's MetaCRS: its network (no m, no β, no accepted-item GRU input), the information-gain
    /// explorer with the identification loss, h_e handed to the task policy, one local SGD step per
    /// adaptation episode.
    public var paperForm: CRSTrainingConfig {
        var c = self
        c.model = model.paperForm
        c.explorerReward = .informationGain
        c.identificationWeight = 1
        c.handOffExplorerState = true
        c.adaptationChunk = 1
        return c
    }

    /// Checkpoints written before the paper-form switches existed used ours.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(CRSModelConfig.self, forKey: .model)
        gamma = try c.decode(Float.self, forKey: .gamma)
        metaLearningRate = try c.decode(Float.self, forKey: .metaLearningRate)
        l2 = try c.decode(Float.self, forKey: .l2)
        localLearningRate = try c.decode(Float.self, forKey: .localLearningRate)
        explorationEpisodes = try c.decode(Int.self, forKey: .explorationEpisodes)
        adaptationEpisodes = try c.decode(Int.self, forKey: .adaptationEpisodes)
        queryEpisodes = try c.decode(Int.self, forKey: .queryEpisodes)
        adaptationChunk = try c.decode(Int.self, forKey: .adaptationChunk)
        usersPerMetaEpoch = try c.decode(Int.self, forKey: .usersPerMetaEpoch)
        globalBatch = try c.decode(Int.self, forKey: .globalBatch)
        recommenderWeight = try c.decode(Float.self, forKey: .recommenderWeight)
        clip = try c.decode(Float.self, forKey: .clip)
        seed = try c.decode(UInt64.self, forKey: .seed)
        explorerReward = try c.decodeIfPresent(CRSRewardKind.self, forKey: .explorerReward) ?? .identification
        identificationWeight = try c.decodeIfPresent(Float.self, forKey: .identificationWeight) ?? 0
        handOffExplorerState = try c.decodeIfPresent(Bool.self, forKey: .handOffExplorerState) ?? false
    }

    /// The defaults with the sizes and seed a command chooses.
    public init(width: Int, hidden: Int, embedding: Int, transGate: Bool, globalBatch: Int, seed: UInt64) {
        model.width = width
        model.hidden = hidden
        model.embedding = embedding
        model.transGate = transGate
        self.globalBatch = globalBatch
        self.seed = seed
    }
}

/// What is trained.
public enum CRSLearner: String, Codable, CaseIterable, Sendable {
    /// The task network alone, REINFORCE over all training users' episodes (UNICORN-like).
    case global
    /// Task + explorer networks, meta-trained over users.
    case metacrs
    /// The control that separates memory from meta-learning: the task network alone, REINFORCE on chains
    /// of one user's episodes with the memory (GRU state, m, β's evidence) carried, no local adaptation.
    case globalMemory = "global-memory"
}

/// How a method meets a test user before its query episodes.
public struct CRSProtocol: Equatable, Sendable {
    public var explore = false
    public var adaptationEpisodes = 0
    /// Local SGD steps (one per `stepEvery` adaptation episodes); false = run the episodes only.
    public var adaptSteps = false
    public var stepEvery = 5
    /// Carry the user memory across episodes (false: reset before every episode, as the global policy was trained).
    public var carryMemory = true
    /// Episode number of the first adaptation episode; nil = right after the exploration episodes. 0 lets a
    /// method without an explorer adapt on all 15 support sessions, as the paper's UR-FT and UR-IA do.
    public var adaptationStart: Int?

    public init(explore: Bool = false, adaptationEpisodes: Int = 0, adaptSteps: Bool = false, stepEvery: Int = 5,
                carryMemory: Bool = true, adaptationStart: Int? = nil) {
        self.explore = explore
        self.adaptationEpisodes = adaptationEpisodes
        self.adaptSteps = adaptSteps
        self.stepEvery = stepEvery
        self.carryMemory = carryMemory
        self.adaptationStart = adaptationStart
    }
}

/// Trainer and evaluator over one simulator.
public struct MetaCRS: Sendable {
    public let simulator: UserSimulator
    public let embeddings: CRSEmbeddings
    public let config: CRSTrainingConfig
    /// P(e_u | h) over training users, for the information-gain explorer (nil when not used).
    public let identifier: UserIdentifier?
    public var task: CRSPolicyNetwork { CRSPolicyNetwork(prefix: "task", config: config.model) }
    public var explorer: CRSPolicyNetwork { CRSPolicyNetwork(prefix: "explorer", config: config.model) }

    public init(simulator: UserSimulator, embeddings: CRSEmbeddings, config: CRSTrainingConfig) {
        precondition(embeddings.dimension == config.model.embedding,
                     "MetaCRS: FM width \(embeddings.dimension) differs from the model's \(config.model.embedding)")
        self.simulator = simulator
        self.embeddings = embeddings
        self.config = config
        identifier = config.explorerReward == .informationGain
            ? UserIdentifier(embeddings: embeddings, trainingUsers: simulator.dataset.trainUsers, hidden: config.model.hidden) : nil
    }

    /// Fresh parameters for a learner (the explorer only for MetaCRS).
    public func initialParameters(_ learner: CRSLearner, seed: UInt64? = nil) -> Parameters {
        var rng = SeededGenerator(seed: seed ?? config.seed)
        var p = Parameters()
        task.initialize(into: &p, using: &rng)
        if learner == .metacrs { explorer.initialize(into: &p, using: &rng) }
        return p
    }

    /// Session j of user u under `seed`, with the episode's generator.
    public func session(user: Int, episode j: Int, seed: UInt64) -> (CRSSession, SeededGenerator) {
        let index = user * 64 + j
        var rng = UserSimulator.episodeGenerator(seed: seed, index: index)
        let session = simulator.drawSession(users: [user], index: index, using: &rng)
        return (session, rng)
    }

    /// Plays `sessions` with `network` on one graph; with `gradient`, returns the REINFORCE + recommender
    /// gradient as well. `labelAll`: every trace's recommender term counts (training users); otherwise
    /// only successful ones (the accepted item revealed the target).
    public func block(
        _ parameters: Parameters, network: CRSPolicyNetwork, sessions: [(CRSSession, SeededGenerator)],
        memory: inout UserMemory, carryMemory: Bool, acting: CRSActing, reward: CRSRewardKind,
        gradient: Bool, labelAll: Bool
    ) -> (traces: [CRSTrace], gradients: Parameters?, loss: Float) {
        let g = Graph(parameters: parameters, trainable: gradient)
        var hidden = g.constant(memory.hidden)
        var traces: [CRSTrace] = []
        for (session, generator) in sessions {
            var rng = generator
            if !carryMemory {
                memory = UserMemory(config: config.model)
                hidden = g.constant(memory.hidden)
            }
            traces.append(network.play(g, session: session, simulator: simulator, embeddings: embeddings,
                                       hidden: &hidden, memory: &memory, acting: acting, reward: reward,
                                       identifier: identifier, rng: &rng))
        }
        memory.hidden = hidden.value
        guard gradient, let loss = reinforceLoss(traces, labelled: traces.map { labelAll || $0.succeeded },
                                                 gamma: config.gamma, recommenderWeight: config.recommenderWeight,
                                                 identificationWeight: config.identificationWeight)
        else { return (traces, nil, 0) }
        g.tape.backward(loss)
        var grads = g.gradients()
        grads.clipGlobalNorm(config.clip)
        return (traces, grads, loss.value.scalars[0])
    }

    /// Runs a user's support phase (exploration, then adaptation episodes with local SGD steps) and
    /// returns the adapted parameters θ'_u, the memory, the explorer's gradient and the support traces.
    public func adapt(
        _ parameters: Parameters, user: Int, seed: UInt64, protocol p: CRSProtocol, training: Bool
    ) -> (adapted: Parameters, memory: UserMemory, explorerGradient: Parameters?, traces: [CRSTrace]) {
        var memory = UserMemory(config: config.model)
        var explorerGradient: Parameters?
        var traces: [CRSTrace] = []
        if p.explore {
            let sessions = (0..<config.explorationEpisodes).map { session(user: user, episode: $0, seed: seed) }
            let out = block(parameters, network: explorer, sessions: sessions, memory: &memory, carryMemory: true,
                            acting: .sample, reward: config.explorerReward, gradient: training, labelAll: true)
            explorerGradient = out.gradients
            traces += out.traces
            if !config.handOffExplorerState { memory.hidden = Tensor(zeros: [1, config.model.hidden]) }
        }
        var adapted = parameters
        var j = 0
        let start = p.adaptationStart ?? config.explorationEpisodes
        while j < p.adaptationEpisodes {
            let count = min(p.stepEvery, p.adaptationEpisodes - j)
            let sessions = (j..<(j + count)).map { session(user: user, episode: start + $0, seed: seed) }
            var chunkMemory = memory
            let out = block(adapted, network: task, sessions: sessions, memory: &chunkMemory, carryMemory: p.carryMemory,
                            acting: .sample, reward: .task, gradient: p.adaptSteps, labelAll: false)
            if p.carryMemory { memory = chunkMemory }
            if let grads = out.gradients { adapted = adapted.adding(grads, scale: -config.localLearningRate) }
            traces += out.traces
            j += count
        }
        return (adapted, memory, explorerGradient, traces)
    }

    /// How a learner meets a new user before its query episodes (at test and at validation): MetaCRS explores, then
    /// adapts with one local step per `adaptationChunk` episodes; Global+memory plays all the support sessions with
    /// its memory carried and no step; the global policy starts every episode afresh.
    public func testProtocol(_ learner: CRSLearner) -> CRSProtocol {
        switch learner {
        case .metacrs:
            return CRSProtocol(explore: true, adaptationEpisodes: config.adaptationEpisodes, adaptSteps: true,
                               stepEvery: config.adaptationChunk, carryMemory: true)
        case .globalMemory:
            return CRSProtocol(adaptationEpisodes: config.explorationEpisodes + config.adaptationEpisodes, adaptSteps: false,
                               carryMemory: true, adaptationStart: 0)
        case .global:
            return CRSProtocol(carryMemory: false)
        }
    }

    /// The query sessions of a user.
    public func querySessions(user: Int, seed: UInt64) -> [(CRSSession, SeededGenerator)] {
        let first = config.explorationEpisodes + config.adaptationEpisodes
        return (first..<(first + config.queryEpisodes)).map { session(user: user, episode: $0, seed: seed) }
    }

    /// One meta-epoch (MetaCRS) or one batch (global) of training; returns the gradient to apply and
    /// the query traces (for progress figures).
    public func trainingGradient(_ parameters: Parameters, learner: CRSLearner, users: [Int], seed: UInt64)
        -> (gradients: Parameters, traces: [CRSTrace], loss: Float)
    {
        switch learner {
        case .global:
            // Independent episodes: user k of the batch plays its query-numbered episodes one at a time.
            let sessions = users.enumerated().map { k, u in session(user: u, episode: k % 25, seed: seed) }
            var memory = UserMemory(config: config.model)
            let out = block(parameters, network: task, sessions: sessions, memory: &memory, carryMemory: false,
                            acting: .sample, reward: .task, gradient: true, labelAll: true)
            return (out.gradients ?? parameters.zerosLike(), out.traces, out.loss)
        case .globalMemory:
            // Each user plays its adaptation and query sessions in order, memory carried, in chunks of
            // `adaptationChunk` episodes (one graph each; the carried state enters the next as a constant).
            var total = parameters.zerosLike()
            var traces: [CRSTrace] = []
            var loss: Float = 0
            let episodes = Array(config.explorationEpisodes..<(config.explorationEpisodes + config.adaptationEpisodes + config.queryEpisodes))
            let chunks = stride(from: 0, to: episodes.count, by: config.adaptationChunk).map {
                Array(episodes[$0..<min($0 + config.adaptationChunk, episodes.count)])
            }
            let scale = 1 / Float(users.count * chunks.count)
            for u in users {
                var memory = UserMemory(config: config.model)
                for chunk in chunks {
                    let out = block(parameters, network: task, sessions: chunk.map { session(user: u, episode: $0, seed: seed) },
                                    memory: &memory, carryMemory: true, acting: .sample, reward: .task,
                                    gradient: true, labelAll: true)
                    if let g = out.gradients { total = total.adding(g, scale: scale) }
                    traces += out.traces
                    loss += out.loss * scale
                }
            }
            return (total, traces, loss)
        case .metacrs:
            var total = parameters.zerosLike()
            var traces: [CRSTrace] = []
            var loss: Float = 0
            let p = CRSProtocol(explore: true, adaptationEpisodes: config.adaptationEpisodes, adaptSteps: true,
                                stepEvery: config.adaptationChunk)
            for u in users {
                let support = adapt(parameters, user: u, seed: seed, protocol: p, training: true)
                var memory = support.memory
                let query = block(support.adapted, network: task, sessions: querySessions(user: u, seed: seed),
                                  memory: &memory, carryMemory: true, acting: .sample, reward: .task,
                                  gradient: true, labelAll: true)
                if let g = query.gradients { total = total.adding(g, scale: 1 / Float(users.count)) }
                if let g = support.explorerGradient { total = total.adding(g, scale: 1 / Float(users.count)) }
                traces += query.traces
                loss += query.loss / Float(users.count)
            }
            return (total, traces, loss)
        }
    }

    /// Query-episode metrics of one test user under a protocol. `greedy` query actions.
    public func evaluateUser(_ parameters: Parameters, user: Int, seed: UInt64, protocol p: CRSProtocol) -> CRSMetrics {
        let support = adapt(parameters, user: user, seed: seed, protocol: p, training: false)
        var memory = support.memory
        let out = block(support.adapted, network: task, sessions: querySessions(user: user, seed: seed),
                        memory: &memory, carryMemory: p.carryMemory, acting: .greedy, reward: .task,
                        gradient: false, labelAll: false)
        var metrics = CRSMetrics()
        for t in out.traces { metrics.accumulate(succeeded: t.succeeded, turns: t.turns, reward: t.totalReward) }
        return metrics
    }

    /// Users of a split who have at least one target item.
    public func eligible(_ users: [Int]) -> [Int] { users.filter { !simulator.interactions[$0].isEmpty } }

    /// Query-episode metrics over users (each user's support phase first), users in parallel on
    /// `threads` threads; the result does not depend on `threads`.
    public func evaluate(_ parameters: Parameters, users: [Int], seed: UInt64, protocol p: CRSProtocol,
                         threads: Int = 1) -> CRSMetrics {
        evaluatePerUser(parameters, users: users, seed: seed, protocol: p, threads: threads).merged()
    }

    /// `evaluate`, one entry per eligible user in order (for intervals that resample users).
    public func evaluatePerUser(_ parameters: Parameters, users: [Int], seed: UInt64, protocol p: CRSProtocol,
                                threads: Int = 1) -> [CRSMetrics] {
        parallelMap(eligible(users), threads: threads) { evaluateUser(parameters, user: $0, seed: seed, protocol: p) }
    }

    /// The MaxE rule on the same query sessions, one entry per eligible user.
    public func evaluateMaxEntropy(users: [Int], seed: UInt64) -> [CRSMetrics] {
        let policy = MaxEntropyPolicy(listSize: config.model.listSize)
        return eligible(users).map { u in
            var metrics = CRSMetrics()
            for (session, generator) in querySessions(user: u, seed: seed) {
                var rng = generator
                metrics.accumulate(simulator.run(policy, session: session, rng: &rng))
            }
            return metrics
        }
    }
}

/// `transform` over `items` on `threads` threads, results in input order.
public func parallelMap<T, R>(_ items: [T], threads: Int, _ transform: (T) -> R) -> [R] {
    guard threads > 1, items.count > 1 else { return items.map(transform) }
    let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: items.count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    DispatchQueue.concurrentPerform(iterations: threads) { worker in
        var i = worker
        while i < items.count {
            results[i] = transform(items[i])
            i += threads
        }
    }
    return results.map { $0! }
}

extension MetaCRS {
    /// The benchmark: `count` independent greedy episodes of the task network over `users` (memory reset
    /// per episode, no gradients), episode i seeded by (seed, i), on `threads` threads.
    public func simulate(_ parameters: Parameters, users: [Int], episodes count: Int, seed: UInt64,
                         threads: Int = 1) -> CRSMetrics {
        let list = eligible(users)
        let workers = max(1, threads)
        let chunks = (0..<workers).map { w in stride(from: w, to: count, by: workers).map { $0 } }
        let results = parallelMap(chunks, threads: workers) { indices -> CRSMetrics in
            var metrics = CRSMetrics()
            for i in indices {
                var rng = UserSimulator.episodeGenerator(seed: seed, index: i)
                let session = simulator.drawSession(users: list, index: i, using: &rng)
                var memory = UserMemory(config: config.model)
                let trace = block(parameters, network: task, sessions: [(session, rng)], memory: &memory,
                                  carryMemory: false, acting: .greedy, reward: .task, gradient: false, labelAll: false)
                    .traces[0]
                metrics.accumulate(succeeded: trace.succeeded, turns: trace.turns, reward: trace.totalReward)
            }
            return metrics
        }
        var total = CRSMetrics()
        for m in results { total.merge(m) }
        return total
    }
}
