import Dialogue
import Foundation
import Tensor
import TestSupport
import XCTest
@testable import Recommender
@testable import SpokenRecommender

/// Slot-exact decoding with the shipped action-language model on lastfm: every attribute and 300 random artist
/// lists in every answer context, one top-k sample each (no resampling), give sentences with exactly the right
/// names and never need the template fallback.
final class SlotExactTests: XCTestCase {
    func testShippedRealiserNeedsNoFallback() throws {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = package.appendingPathComponent("Checkpoints/crs-language")
        guard let lastfm = Corpora.crs("lastfm"), FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
            throw XCTSkip("lastfm or Checkpoints/crs-language not found")
        }
        let dataset = try CRSDataset.load(directory: lastfm)
        var realiser = try ActionRealiser(checkpoint: try DialogueCheckpoint(folder: folder), strategy: .topK(k: 3, temperature: 0.5),
                                          style: nil, styleSteps: 0, styleLearningRate: 0, log: { _ in })
        realiser.attempts = 1
        var rng = SeededGenerator(seed: 11)
        let named = (0..<dataset.itemCount).filter { dataset.itemNames?[$0] != nil }
        var actions = (0..<dataset.attributeCount).map { CRSAction.ask(attribute: $0) }
        for _ in 0..<300 { actions.append(.recommend(items: (0..<3).map { _ in named[Int(rng.next() % UInt64(named.count))] })) }
        var sentences = 0
        for (i, action) in actions.enumerated() {
            for context in AnswerContext.allCases {
                let r = realiser.realise(action, context: context, dataset: dataset, seed: UInt64(i))
                XCTAssertFalse(r.usedFallback, "\(action) \(context): \(r.decoded)")
                XCTAssertTrue(r.slotCorrect, "\(action) \(context): \(r.text)")
                sentences += 1
            }
        }
        XCTAssertEqual(sentences, (dataset.attributeCount + 300) * 3)
    }
}

/// The same check for the shipped speaker (the PAML dialogue model reading the conversation): every attribute and 100
/// random artist lists after three kinds of conversation (the full 300-list check runs in `paml recommend train-speaker`).
final class SpeakerSlotExactTests: XCTestCase {
    func testShippedSpeakerNeedsNoFallback() throws {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = package.appendingPathComponent("Checkpoints/crs-speaker")
        guard let lastfm = Corpora.crs("lastfm"), FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
            throw XCTSkip("lastfm or Checkpoints/crs-speaker not found")
        }
        let dataset = try CRSDataset.load(directory: lastfm)
        var realiser = try ActionRealiser(checkpoint: try DialogueCheckpoint(folder: folder), strategy: .topK(k: 3, temperature: 0.5),
                                          style: nil, styleSteps: 0, styleLearningRate: 0, log: { _ in })
        XCTAssertTrue(realiser.readsConversation)
        realiser.attempts = 1
        var rng = SeededGenerator(seed: 12)
        let named = (0..<dataset.itemCount).filter { dataset.itemNames?[$0] != nil }
        var actions = (0..<dataset.attributeCount).map { CRSAction.ask(attribute: $0) }
        for _ in 0..<100 { actions.append(.recommend(items: (0..<3).map { _ in named[Int(rng.next() % UInt64(named.count))] })) }
        for (i, action) in actions.enumerated() {
            for context in AnswerContext.allCases {
                let r = realiser.realise(action, context: context, history: context.exampleHistory, dataset: dataset, seed: UInt64(i))
                XCTAssertFalse(r.usedFallback, "\(action) \(context): \(r.decoded)")
                XCTAssertTrue(r.slotCorrect, "\(action) \(context): \(r.text)")
            }
        }
    }
}
