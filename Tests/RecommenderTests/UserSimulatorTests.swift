import Foundation
import TestSupport
import XCTest
import Tensor
@testable import Recommender

final class UserSimulatorTests: XCTestCase {
    /// Fixture user 0: P_u = {0, 1}; item 3: P_v = {0, 1, 2}; so the user confirms 0 and 1 only.
    private func simulator(maxTurns: Int = 10, opens: Bool = false) throws -> UserSimulator {
        UserSimulator(dataset: try CRSDataset.load(directory: CRSFixture.write()), source: .observed, maxTurns: maxTurns, opensWithAttribute: opens)
    }

    func testRewardForEachEvent() throws {
        let sim = try simulator()
        var state = sim.start(CRSSession(user: 0, target: 3, opening: nil))
        XCTAssertEqual(sim.step(.ask(attribute: 0), state: &state), CRSStep(event: .askAccepted, reward: 0.1, done: false))
        XCTAssertEqual(sim.step(.ask(attribute: 2), state: &state), CRSStep(event: .askRejected, reward: -0.1, done: false))
        XCTAssertEqual(sim.step(.ask(attribute: 3), state: &state), CRSStep(event: .askRejected, reward: -0.1, done: false))
        XCTAssertEqual(sim.step(.recommend(items: [1, 5]), state: &state),
                       CRSStep(event: .recommendRejected, reward: -0.1, done: false))
        XCTAssertEqual(sim.step(.recommend(items: [0, 3]), state: &state),
                       CRSStep(event: .recommendAccepted, reward: 1, done: true))
        XCTAssertTrue(state.succeeded)
        XCTAssertEqual(state.turn, 5)
    }

    func testQuitReplacesTheLastRewardButNotASuccess() throws {
        let sim = try simulator(maxTurns: 2)
        var state = sim.start(CRSSession(user: 0, target: 3, opening: nil))
        XCTAssertEqual(sim.step(.ask(attribute: 1), state: &state).event, .askAccepted)
        XCTAssertEqual(sim.step(.ask(attribute: 0), state: &state), CRSStep(event: .quit, reward: -0.3, done: true))
        XCTAssertFalse(state.succeeded)

        var other = sim.start(CRSSession(user: 0, target: 3, opening: nil))
        _ = sim.step(.ask(attribute: 2), state: &other)
        XCTAssertEqual(sim.step(.recommend(items: [3]), state: &other), CRSStep(event: .recommendAccepted, reward: 1, done: true))
        var rng = SeededGenerator(seed: 1)
        let episode = sim.run(MaxEntropyPolicy(listSize: 1), session: CRSSession(user: 1, target: 2, opening: nil),
                              rng: &rng, record: true)
        XCTAssertEqual(episode.record.count, episode.turns)
        XCTAssertLessThanOrEqual(episode.turns, 2)
    }

    func testCandidateFiltering() throws {
        let sim = try simulator()
        var state = sim.start(CRSSession(user: 0, target: 3, opening: nil))
        XCTAssertEqual(state.candidates, [0, 1, 2, 3, 4, 5])
        _ = sim.step(.ask(attribute: 0), state: &state)               // items holding attribute 0
        XCTAssertEqual(state.candidates, [0, 1, 3, 5])
        _ = sim.step(.ask(attribute: 2), state: &state)               // rejected: no filtering
        XCTAssertEqual(state.candidates, [0, 1, 3, 5])
        XCTAssertEqual(state.rejectedAttributes, 1 << 2)
        _ = sim.step(.ask(attribute: 1), state: &state)               // items holding 0 and 1
        XCTAssertEqual(state.candidates, [0, 3])
        XCTAssertEqual(state.acceptedAttributes, 0b11)
        _ = sim.step(.recommend(items: [0]), state: &state)
        XCTAssertEqual(state.candidates, [3])
        XCTAssertEqual(state.rejectedItems, [0])

        let opened = try simulator(opens: true).start(CRSSession(user: 0, target: 3, opening: 1))
        XCTAssertEqual(opened.candidates, [0, 2, 3])
        XCTAssertEqual(opened.turn, 0)
    }

    func testSessionsAreDeterministicUnderASeed() throws {
        let sim = try simulator(opens: true)
        func sessions(_ seed: UInt64) -> [CRSSession] {
            var out: [CRSSession] = []
            _ = sim.evaluate(RandomPolicy(listSize: 2), users: [0, 1, 2], episodes: 40, seed: seed) { out.append($1.session) }
            return out
        }
        XCTAssertEqual(sessions(5), sessions(5))
        XCTAssertNotEqual(sessions(5), sessions(6))
        for s in sessions(5) {
            XCTAssertTrue(sim.interactions[s.user].contains(s.target))
            if let a = s.opening { XCTAssertTrue(sim.confirms(a, s)) }
        }
        let a = sim.evaluate(RandomPolicy(listSize: 2), users: [0, 1, 2], episodes: 40, seed: 9)
        XCTAssertEqual(a, sim.evaluate(RandomPolicy(listSize: 2), users: [0, 1, 2], episodes: 40, seed: 9))
    }

    func testMaxEntropyAsksTheMostSplittingAttribute() throws {
        // Attribute 0 is on every item (H = 0), attribute 1 on half (H = ln 2), attribute 2 on a quarter.
        let d = try CRSDataset(name: "hand", attributeCount: 3,
                               itemAttributes: [[0, 1], [0, 1], [0], [0, 2]], userAttributes: [[0, 1, 2]],
                               userItems: [[0]], sampledInteractions: [[0]], trainUsers: [0], validUsers: [], testUsers: [])
        let entropies = MaxEntropyPolicy.entropies([0, 1, 2, 3], masks: d.itemMasks, attributeCount: 3)
        XCTAssertEqual(entropies[0], 0, accuracy: 1e-12)
        XCTAssertEqual(entropies[1], log(2.0), accuracy: 1e-12)
        XCTAssertEqual(entropies[2], -(0.25 * log(0.25) + 0.75 * log(0.75)), accuracy: 1e-12)
        let sim = UserSimulator(dataset: d, source: .observed, opensWithAttribute: false)
        var rng = SeededGenerator(seed: 1)
        var state = sim.start(CRSSession(user: 0, target: 0, opening: nil))
        let policy = MaxEntropyPolicy(listSize: 2)
        XCTAssertEqual(policy.act(state, simulator: sim, rng: &rng), .ask(attribute: 1))
        state.rejectedAttributes = 1 << 1
        XCTAssertEqual(policy.act(state, simulator: sim, rng: &rng), .ask(attribute: 2))
        state.rejectedAttributes |= 1 << 2                              // only H = 0 left: recommend
        XCTAssertEqual(policy.act(state, simulator: sim, rng: &rng), .recommend(items: [0, 1]))
    }

    func testMetricsSumThenDivide() {
        var m = CRSMetrics()
        m.accumulate(succeeded: true, turns: 3, reward: 1.1)
        m.accumulate(succeeded: false, turns: 10, reward: -1)
        m.accumulate(succeeded: true, turns: 5, reward: 0.9)
        let (sr, at, reward) = m.measure()
        XCTAssertEqual(sr, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(at, 6, accuracy: 1e-12)
        XCTAssertEqual(reward, 1.0 / 3, accuracy: 1e-6)
        m.reset()
        XCTAssertEqual(m.episodes, 0)
    }

    func testMaxEntropyOnRealLastfm() throws {
        guard let folder = Corpora.crs("lastfm") else { throw XCTSkip("corpora/crs not found") }
        let d = try CRSDataset.load(directory: folder)
        let sim = UserSimulator(dataset: d, source: .sampled)
        let maxE = sim.evaluate(MaxEntropyPolicy(), users: d.testUsers, episodes: 300, seed: 1).measure()
        let random = sim.evaluate(RandomPolicy(), users: d.testUsers, episodes: 300, seed: 1).measure()
        XCTAssertGreaterThan(maxE.averageTurns, 1)
        XCTAssertLessThanOrEqual(maxE.averageTurns, 10)
        XCTAssertGreaterThan(maxE.successRate, random.successRate)
    }
}
