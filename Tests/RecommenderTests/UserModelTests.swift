import Foundation
import TestSupport
import XCTest
import Tensor
@testable import Recommender

/// The RecSim-style user models: each deviation from the exact user happens at the rate it is configured with,
/// and the exact user is untouched (same sessions, no extra random draws).
final class UserModelTests: XCTestCase {
    private func simulator(_ model: CRSUserModel = .exact, maxTurns: Int = 10) throws -> UserSimulator {
        var s = UserSimulator(dataset: try CRSDataset.load(directory: CRSFixture.write()), source: .observed,
                              maxTurns: maxTurns, opensWithAttribute: false)
        s.userModel = model
        return s
    }

    private func session(_ sim: UserSimulator, _ index: Int) -> CRSSession {
        var rng = UserSimulator.episodeGenerator(seed: 9, index: index)
        return sim.drawSession(users: [0], index: index, using: &rng)
    }

    func testExactUserDrawsNothingExtra() throws {
        let exact = try simulator()
        for i in 0..<50 {
            var a = UserSimulator.episodeGenerator(seed: 9, index: i), b = a
            let s = exact.drawSession(users: [0, 1, 2], index: i, using: &a)
            XCTAssertEqual(s.userSeed, 0)
            // The generator continues exactly where the old three draws (user, target) left it.
            _ = Int.random(in: 0..<3, using: &b)
            let items = exact.interactions[s.user]
            _ = Int.random(in: 0..<items.count, using: &b)
            XCTAssertEqual(a.next(), b.next(), "session \(i)")
        }
    }

    func testAnswerNoiseFlipsAtItsRate() throws {
        for eps in [0.1, 0.3] {
            let sim = try simulator(CRSUserModel(answerNoise: eps))
            var flips = 0
            let n = 4000
            for i in 0..<n {
                var state = sim.start(session(sim, i))
                let truth = sim.confirms(0, state.session)
                let step = sim.step(.ask(attribute: 0), state: &state)
                if (step.event == .askAccepted) != truth { flips += 1 }
            }
            // Binomial: 4 standard errors.
            let se = (eps * (1 - eps) / Double(n)).squareRoot()
            XCTAssertEqual(Double(flips) / Double(n), eps, accuracy: 4 * se, "eps \(eps)")
        }
    }

    func testLogitChoiceMatchesItsProbabilities() throws {
        let choice = LogitChoice()
        let sim = try simulator(CRSUserModel(choice: choice))
        // User 0 (P_u = {0, 1}, items {0, 1, 3}), target 3, list [3, 4, 1]:
        //   u(3) = 1 * 2/3 + 2 + 6, u(4) = 0 (P_4 = {3}), u(1) = 1 * 1/2 + 2, no choice 5.
        let utilities = [2.0 / 3 + 8, 0, 0.5 + 2, 5]
        let z = utilities.map { exp($0) }.reduce(0, +)
        let expected = utilities.map { exp($0) / z }
        var counts = [0, 0, 0, 0]
        let n = 20000
        for i in 0..<n {
            var rng = SeededGenerator(seed: UInt64(i) &* 7919 + 1)
            let taken = sim.choose(from: [3, 4, 1], session: CRSSession(user: 0, target: 3, opening: nil), rng: &rng)
            counts[taken.map { [3: 0, 4: 1, 1: 2][$0]! } ?? 3] += 1
        }
        for k in 0..<4 {
            let p = expected[k], se = (p * (1 - p) / Double(n)).squareRoot()
            XCTAssertEqual(Double(counts[k]) / Double(n), p, accuracy: 4 * se + 1e-9, "outcome \(k)")
        }
        // Taking another item than the target is a success, and that item is the one recorded.
        var state = sim.start(CRSSession(user: 0, target: 3, opening: nil, userSeed: 5))
        var taken: Int?
        for seed in 1...200 where taken == nil || taken == 3 {
            state = sim.start(CRSSession(user: 0, target: 3, opening: nil, userSeed: UInt64(seed)))
            _ = sim.step(.recommend(items: [1, 4]), state: &state)
            taken = state.acceptedItem
        }
        XCTAssertNotNil(taken)
        XCTAssertTrue(state.succeeded)
        XCTAssertEqual(state.acceptedItem, taken)
    }

    func testPatienceQuitsAtItsRate() throws {
        // quitBase 0.25: after the first failed turn a quarter of users leave.
        let sim = try simulator(CRSUserModel(quitBase: 0.25))
        var quits = 0
        let n = 4000
        for i in 0..<n {
            var state = sim.start(session(sim, i))
            let step = sim.step(.ask(attribute: 3), state: &state)   // user 0 never confirms 3 (P_u = {0, 1})
            if step.event == .quit { quits += 1; XCTAssertEqual(step.reward, -0.3); XCTAssertTrue(state.done) }
        }
        let se = (0.25 * 0.75 / Double(n)).squareRoot()
        XCTAssertEqual(Double(quits) / Double(n), 0.25, accuracy: 4 * se)
        // A confirmed attribute is not a failure: nobody quits on it.
        var state = sim.start(CRSSession(user: 0, target: 3, opening: nil, userSeed: 3))
        XCTAssertEqual(sim.step(.ask(attribute: 0), state: &state).event, .askAccepted)
    }

    /// A channel that reads every answer the wrong way.
    struct Contrary: CRSAnswerChannel {
        func understood(_ action: CRSAction, accepted: Bool, session: CRSSession, acceptedItem: Int?,
                        rng: inout SeededGenerator) -> Bool? { !accepted }
    }

    func testChannelDecidesWhatTheSystemKnows() throws {
        var sim = try simulator()
        sim.channel = Contrary()
        var state = sim.start(CRSSession(user: 0, target: 3, opening: nil, userSeed: 1))
        // User 0 confirms 0, but the system reads a no: nothing is filtered, 0 is recorded as rejected.
        XCTAssertEqual(sim.step(.ask(attribute: 0), state: &state).event, .askRejected)
        XCTAssertEqual(state.candidates.count, 6)
        // A refusal read as a yes ends the session without success.
        let step = sim.step(.recommend(items: [4]), state: &state)
        XCTAssertTrue(step.done)
        XCTAssertFalse(state.succeeded)
        XCTAssertEqual(step.reward, -0.1)
        // A yes read as a no: the user has the item all the same.
        var other = sim.start(CRSSession(user: 0, target: 3, opening: nil, userSeed: 1))
        _ = sim.step(.recommend(items: [3]), state: &other)
        XCTAssertTrue(other.succeeded)
        XCTAssertEqual(other.acceptedItem, 3)
    }
}
