import Autograd
import Tensor
import TestSupport
import XCTest
@testable import Recommender
@testable import SpokenRecommender

final class SpokenPolicyTests: XCTestCase {
    /// In a spoken (simulated) session the learned network chooses exactly the actions of
    /// `CRSPolicyNetwork.play` with greedy acting on the same session: same GRU state, same rejected items.
    func testLearnedPolicyInWordsActsLikeGreedyPlay() throws {
        let d = try CRSDataset.load(directory: CRSFixture.write())
        let sim = UserSimulator(dataset: d, source: .observed, maxTurns: 6, opensWithAttribute: false)
        var config = CRSModelConfig()
        config.embedding = 8
        config.width = 8
        config.hidden = 8
        config.listSize = 2
        config.itemActions = 3
        let network = CRSPolicyNetwork(prefix: "task", config: config)
        var rng = SeededGenerator(seed: 5)
        let embeddings = CRSEmbeddings(item: Tensor.randomNormal([d.itemCount, 8], using: &rng),
                                       attribute: Tensor.randomNormal([d.attributeCount, 8], using: &rng))
        let learned = LearnedConversationPolicy(network: network, parameters: network.initialParameters(seed: 3),
                                                embeddings: embeddings)
        let speaker = SpokenRecommender(simulator: sim, policy: learned, realiser: nil, reader: ReplyReader())
        var compared = 0
        for (user, target) in [(0, 0), (0, 3), (1, 4), (2, 5)] {
            let session = CRSSession(user: user, target: target, opening: nil)
            let g = Graph(parameters: learned.parameters, trainable: false)
            var hidden = g.constant(Tensor(zeros: [1, 8]))
            var memory = UserMemory(config: config)
            var playRNG = SeededGenerator(seed: 1)
            let trace = network.play(g, session: session, simulator: sim, embeddings: embeddings, hidden: &hidden,
                                     memory: &memory, acting: .greedy, rng: &playRNG)
            var spokenRNG = SeededGenerator(seed: 1)
            let spoken = speaker.simulated(session: session, rng: &spokenRNG, seed: 0)
            XCTAssertEqual(spoken.turns.map(\.action), trace.actions, "user \(user) target \(target)")
            XCTAssertEqual(spoken.succeeded, trace.succeeded)
            compared += trace.actions.count
            // Turn by turn: the policy value ends with play's GRU state and last rejected list.
            var policy = learned
            var state = sim.start(session)
            var actRNG = SeededGenerator(seed: 1)
            var rejected: [Int] = []
            while !state.done {
                let action = policy.act(state, simulator: sim, rng: &actRNG)
                let step = sim.step(action, state: &state)
                policy.observe(action, accepted: step.event == .recommendAccepted)
                if case .recommend(let items) = action, !state.succeeded { rejected = items }
            }
            XCTAssertEqual(policy.hidden.scalars, hidden.value.scalars)
            XCTAssertNotEqual(policy.hidden.scalars, [Float](repeating: 0, count: 8))
            XCTAssertEqual(policy.lastRejected, rejected)
        }
        XCTAssertGreaterThan(compared, 4)
        var policy = learned
        policy.observe(.recommend(items: [1, 2]), accepted: false)
        XCTAssertEqual(policy.lastRejected, [1, 2])
        policy.observe(.ask(attribute: 0), accepted: false)
        XCTAssertEqual(policy.lastRejected, [1, 2])
    }
}
