import Foundation
import XCTest
import Tensor
import Autograd
import NN
import TestSupport
@testable import Recommender

final class MetaCRSTests: XCTestCase {
    /// A tiny configuration over the fixture dataset (4 attributes, 6 items), random FM tables D = 8.
    private func small(transGate: Bool = true) -> CRSTrainingConfig {
        var c = CRSTrainingConfig()
        c.model.embedding = 8
        c.model.width = 8
        c.model.hidden = 6
        c.model.heads = 2
        c.model.transGate = transGate
        c.model.listSize = 2
        // K_I >= the fixture's 6 items: the item-action set is then every candidate, so the policy loss is a
        // smooth function of the weights (a top-K cut would jump under the gradient check's perturbations).
        c.model.itemActions = 6
        c.explorationEpisodes = 1
        c.adaptationEpisodes = 2
        c.adaptationChunk = 1
        c.queryEpisodes = 2
        c.usersPerMetaEpoch = 2
        c.globalBatch = 3
        return c
    }

    private func engine(transGate: Bool = true) throws -> MetaCRS {
        let d = try CRSDataset.load(directory: CRSFixture.write())
        var rng = SeededGenerator(seed: 3)
        let e = CRSEmbeddings(item: Tensor.randomNormal([d.itemCount, 8], using: &rng),
                              attribute: Tensor.randomNormal([d.attributeCount, 8], using: &rng))
        let sim = UserSimulator(dataset: d, source: .observed, maxTurns: 4, opensWithAttribute: false)
        return MetaCRS(simulator: sim, embeddings: e, config: small(transGate: transGate))
    }

    func testDiscountedReturnsMatchHandValues() {
        // G2 = 1, G1 = -0.1 + 0.999 * 1 = 0.899, G0 = 0.1 + 0.999 * 0.899 = 0.998101.
        let g = discountedReturns([0.1, -0.1, 1], gamma: 0.999)
        XCTAssertEqual(g.count, 3)
        XCTAssertEqual(g[0], 0.998101, accuracy: 1e-6)
        XCTAssertEqual(g[1], 0.899, accuracy: 1e-6)
        XCTAssertEqual(g[2], 1, accuracy: 1e-6)
        XCTAssertEqual(discountedReturns([-0.1, -0.3], gamma: 0.5), [-0.25, -0.3])
        let n = normalised([1, 2, 3])   // mean 2, population std sqrt(2/3)
        XCTAssertEqual(n[0], -1.2247436, accuracy: 1e-4)
        XCTAssertEqual(n[1], 0, accuracy: 1e-6)
        XCTAssertEqual(n[2], 1.2247436, accuracy: 1e-4)
    }

    func testRecommenderScoresAreEmbeddingDotStateQuery() throws {
        let m = try engine()
        let p = m.initialParameters(.global)
        var state = m.simulator.start(CRSSession(user: 0, target: 3, opening: nil))
        _ = m.simulator.step(.ask(attribute: 0), state: &state)   // accepted: candidates 0, 1, 3, 5
        let g = Graph(parameters: p, trainable: false)
        let turn = m.task(g, state: state, simulator: m.simulator, embeddings: m.embeddings,
                          hidden: g.constant(Tensor(zeros: [1, 6])), memory: UserMemory(config: m.config.model),
                          lastRejected: [])
        XCTAssertEqual(turn.candidates, state.candidates)
        // w_v = e_v . (W s + b), by hand.
        let s = turn.state.value.scalars
        let w = p.require("task.recommender.weight"), b = p.require("task.recommender.bias")
        var q = [Float](repeating: 0, count: 8)
        for o in 0..<8 {
            q[o] = b.scalars[o]
            for i in 0..<s.count { q[o] += w.scalars[o * s.count + i] * s[i] }
        }
        for (k, v) in turn.candidates.enumerated() {
            var expected: Float = 0
            for c in 0..<8 { expected += m.embeddings.item.scalars[v * 8 + c] * q[c] }
            XCTAssertEqual(turn.scores.value.scalars[k], expected, accuracy: 1e-4, "item \(v)")
        }
        // The item actions are the top-K_I candidates by w_v; attribute 0 (asked) is not offered.
        let best = CRSPolicyNetwork.topIndices(turn.scores.value.scalars, count: 6).map { turn.candidates[$0] }
        XCTAssertEqual(turn.ranking, best)
        XCTAssertFalse(turn.attributes.contains(0))
        XCTAssertEqual(turn.logits.shape, [1, turn.attributes.count + turn.ranking.count])

        // An item the user accepted before gains exactly β.
        var q2 = p
        q2["task.recommender.bias"] = b
        q2["task.repeatBonus"] = Tensor(shape: [1, 1], scalars: [2])
        var memory = UserMemory(config: m.config.model)
        memory.accept(5, embedding: [Float](repeating: 0, count: 8))
        memory.pendingReveal = nil
        memory.acceptedSum = [Float](repeating: 0, count: 8)
        memory.acceptedCount = 0
        let g2 = Graph(parameters: q2, trainable: false)
        let bonus = m.task(g2, state: state, simulator: m.simulator, embeddings: m.embeddings,
                           hidden: g2.constant(Tensor(zeros: [1, 6])), memory: memory, lastRejected: [])
        for (k, v) in turn.candidates.enumerated() {
            XCTAssertEqual(bonus.scores.value.scalars[k] - turn.scores.value.scalars[k], v == 5 ? 2 : 0, accuracy: 1e-5, "item \(v)")
        }
    }

    func testTopIndicesOrdersLargestFirst() {
        XCTAssertEqual(CRSPolicyNetwork.topIndices([0.5, 3, -1, 3, 2], count: 3), [1, 3, 4])
        XCTAssertEqual(CRSPolicyNetwork.topIndices([1], count: 3), [0])
    }

    func testTransGateGradients() throws {
        for gate in [true, false] {
            var config = small(transGate: gate).model
            config.embedding = 4
            let encoder = TransGate(config: config)
            var rng = SeededGenerator(seed: 5)
            var p = Parameters()
            encoder.initialize(into: &p, using: &rng)
            let attributes = Tensor.randomNormal([3, 4], using: &rng), items = Tensor.randomNormal([2, 4], using: &rng)
            let projection = Tensor.randomNormal([1, config.width], using: &rng)
            let result = checkGradients(parameters: p, perTensor: 3) { g in
                let z = encoder(g, attributes: g.constant(attributes), items: g.constant(items),
                                features: g.constant(Tensor(shape: [1, 2], scalars: [0.3, 0.7])))
                return (z * g.constant(projection)).sum()
            }
            XCTAssertLessThan(result.worstRelativeError, 2e-2, "transGate \(gate): \(result)")
            XCTAssertGreaterThan(result.checkedElements, 10)
        }
    }

    func testPolicyGradients() throws {
        let m = try engine()
        let p = m.initialParameters(.global)
        var state = m.simulator.start(CRSSession(user: 0, target: 3, opening: nil))
        _ = m.simulator.step(.ask(attribute: 0), state: &state)
        _ = m.simulator.step(.ask(attribute: 2), state: &state)
        var memory = UserMemory(config: m.config.model)
        memory.accept(1, embedding: [Float](repeating: 0.5, count: 8))
        let hidden = Tensor(shape: [1, 6], scalars: [0.1, -0.2, 0.3, 0, 0.5, -0.4])
        // Step 2e-3: the [CLS] path through attention over two tokens and LayerNorm is curved enough that
        // h = 1e-2 leaves a 13% truncation error (measured); it falls as h^2, as it should.
        let result = checkGradients(parameters: p, step: 2e-3, perTensor: 2) { g in
            let turn = m.task(g, state: state, simulator: m.simulator, embeddings: m.embeddings,
                              hidden: g.constant(hidden), memory: memory, lastRejected: [4])
            // Attribute action 0 (its index does not depend on the weights) and the target's position.
            let position = turn.candidates.firstIndex(of: 3)!
            return crossEntropy(logits: turn.logits, targets: [0], reduction: .sum) * 0.7
                + crossEntropy(logits: turn.scores, targets: [position], reduction: .sum) + turn.hidden.sum()
        }
        XCTAssertLessThan(result.worstRelativeError, 2e-2, "\(result)")
        XCTAssertGreaterThan(result.checkedElements, 40)
    }

    func testTrainingIsDeterministicUnderASeed() throws {
        let m = try engine()
        for learner in CRSLearner.allCases {
            let a = try m.train(learner, steps: 2, dataset: "tiny")
            let b = try m.train(learner, steps: 2, dataset: "tiny")
            XCTAssertEqual(a, b, "\(learner)")
            XCTAssertNotEqual(a, m.initialParameters(learner), "\(learner): training changed nothing")
        }
    }

    func testCheckpointRoundTripAndResume() throws {
        let m = try engine(transGate: false)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crs-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = try m.train(.metacrs, steps: 1, dataset: "tiny", folder: folder)
        let saved = try MetaCRS.loadPolicy(from: folder)
        XCTAssertEqual(saved.parameters, one)
        XCTAssertEqual(saved.step, 1)
        XCTAssertEqual(saved.config, CRSPolicyCheckpointConfig(dataset: "tiny", learner: .metacrs, training: m.config))
        XCTAssertNotNil(saved.optimizer)
        // Resuming from the checkpoint gives what training straight through gives.
        let resumed = try m.train(.metacrs, steps: 2, dataset: "tiny", start: (saved.parameters, saved.optimizer, saved.step))
        let straight = try m.train(.metacrs, steps: 2, dataset: "tiny")
        XCTAssertEqual(resumed, straight)
    }

    func testEvaluationProtocolCountsQueryEpisodes() throws {
        let m = try engine()
        let p = m.initialParameters(.metacrs)
        let full = CRSProtocol(explore: true, adaptationEpisodes: 2, adaptSteps: true, stepEvery: 1)
        let users = [0, 1, 2]
        let metrics = m.evaluate(p, users: users, seed: 4, protocol: full)
        XCTAssertEqual(metrics.episodes, 3 * m.config.queryEpisodes)
        XCTAssertEqual(m.evaluate(p, users: users, seed: 4, protocol: full, threads: 2), metrics)
        XCTAssertEqual(m.evaluateMaxEntropy(users: users, seed: 4).merged().episodes, 3 * m.config.queryEpisodes)
        let bench = m.simulate(p, users: users, episodes: 7, seed: 1, threads: 2)
        XCTAssertEqual(bench.episodes, 7)
        XCTAssertEqual(bench, m.simulate(p, users: users, episodes: 7, seed: 1, threads: 1))
    }
}
