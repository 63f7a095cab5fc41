import Foundation
import Tensor
import TestSupport
import XCTest
@testable import Recommender
@testable import SpokenRecommender

/// Simulated users who answer in words: the clear families are read as meant, the vague family is the
/// reader's real test, and a channel that reads everything right leaves every session as the exact user plays it.
final class WordedAnswersTests: XCTestCase {
    private func dataset() throws -> CRSDataset { try CRSDataset.load(directory: CRSFixture.write()) }

    func testClearFamiliesAreReadAsMeant() throws {
        let d = try dataset()
        let reader = ReplyReader()
        var rng = SeededGenerator(seed: 1)
        for family in [ReplyFamily.plain, .chatty] {
            for action in [CRSAction.ask(attribute: 0), .ask(attribute: 1), .recommend(items: [0, 3])] {
                for accepted in [true, false] {
                    for _ in 0..<30 {
                        let text = family.reply(accepted: accepted, action: action, name: "rock", rng: &rng)
                        XCTAssertEqual(reader.read(text, action: action, dataset: d).intent, accepted ? .accept : .reject,
                                       "\(family) \"\(text)\"")
                    }
                }
            }
        }
    }

    func testVagueRepliesAreSometimesUnclearButNeverTrap() throws {
        let d = try dataset()
        let reader = ReplyReader()
        var rng = SeededGenerator(seed: 2)
        var readings: [ReplyIntent: Int] = [:]
        for accepted in [true, false] {
            for _ in 0..<100 {
                let text = ReplyFamily.vague.reply(accepted: accepted, action: .ask(attribute: 2), name: "indie", rng: &rng)
                XCTAssertFalse(text.contains("{name}"))
                readings[reader.read(text, action: .ask(attribute: 2), dataset: d).intent, default: 0] += 1
            }
        }
        // The family is hedged on purpose: the rules alone do not read all of it.
        XCTAssertGreaterThan(readings[.unclear, default: 0] + readings[.reject, default: 0], 0)
    }

    func testFamiliesAreDrawnAtTheirWeights() throws {
        let channel = WordedAnswers(reader: ReplyReader(), dataset: try dataset(), familyWeights: [0.5, 0.3, 0.2])
        var rng = SeededGenerator(seed: 3)
        var counts: [ReplyFamily: Int] = [:]
        let n = 6000
        for _ in 0..<n { counts[channel.reply(.ask(attribute: 0), accepted: true, acceptedItem: nil, rng: &rng).family, default: 0] += 1 }
        for (family, p) in zip(ReplyFamily.allCases, [0.5, 0.3, 0.2]) {
            let se = (p * (1 - p) / Double(n)).squareRoot()
            XCTAssertEqual(Double(counts[family, default: 0]) / Double(n), p, accuracy: 4 * se, "\(family)")
        }
    }

    func testAChannelThatReadsEverythingRightChangesNoOutcome() throws {
        let d = try dataset()
        let exact = UserSimulator(dataset: d, source: .observed, maxTurns: 6, opensWithAttribute: false)
        var worded = exact
        worded.channel = WordedAnswers(reader: ReplyReader(), dataset: d, familyWeights: [1, 1, 0])
        let policy = MaxEntropyPolicy(listSize: 2)
        for i in 0..<40 {
            var a = UserSimulator.episodeGenerator(seed: 5, index: i)
            let session = exact.drawSession(users: [0, 1, 2], index: i, using: &a)
            let plain = exact.run(policy, session: session, rng: &a)
            var b = UserSimulator.episodeGenerator(seed: 5, index: i)
            let spoken = worded.drawSession(users: [0, 1, 2], index: i, using: &b)
            XCTAssertEqual(spoken.target, session.target)
            let inWords = worded.run(policy, session: spoken, rng: &b)
            XCTAssertEqual(inWords.succeeded, plain.succeeded, "session \(i)")
            XCTAssertEqual(inWords.turns, plain.turns, "session \(i)")
        }
    }
}
