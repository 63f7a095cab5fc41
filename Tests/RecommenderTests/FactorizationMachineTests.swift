import Foundation
import TestSupport
import XCTest
import Tensor
@testable import Recommender

final class FactorizationMachineTests: XCTestCase {
    /// Hand-written BPR gradients against central differences of the same loss, every element.
    func testGradientsMatchFiniteDifferences() {
        let model = FactorizationMachine(users: 3, items: 5, attributes: 4, dimension: 3, initStd: 0.7, seed: 3)
        let items = [BPRItemTriple(user: 0, positive: 1, negative: 2, attributes: [0, 3]),
                     BPRItemTriple(user: 2, positive: 4, negative: 1, attributes: []),
                     BPRItemTriple(user: 0, positive: 3, negative: 0, attributes: [2, 2])]
        let attributes = [BPRAttributeTriple(user: 1, positive: 2, negative: 0),
                          BPRAttributeTriple(user: 0, positive: 3, negative: 1)]
        let l2: Float = 0.05
        let (_, analytic) = model.lossAndGradient(items: items, attributes: attributes, l2: l2)
        let step: Float = 1e-2
        var worst: Float = 0
        for (name, tensor) in model.parameters {
            XCTAssertGreaterThan(analytic.require(name).squaredNorm(), 0, name)
            for position in 0..<tensor.count {
                var plus = model.parameters, minus = model.parameters
                plus[name]!.scalars[position] += step
                minus[name]!.scalars[position] -= step
                let lp = FactorizationMachine(parameters: plus).lossAndGradient(items: items, attributes: attributes, l2: l2).loss
                let lm = FactorizationMachine(parameters: minus).lossAndGradient(items: items, attributes: attributes, l2: l2).loss
                let numeric = (lp - lm) / (2 * step)
                let exact = analytic.require(name).scalars[position]
                worst = max(worst, abs(exact - numeric) / max(1, abs(exact), abs(numeric)))
            }
        }
        XCTAssertLessThan(worst, 2e-3)
    }

    func testScoreFormula() {
        let m = FactorizationMachine(users: 2, items: 3, attributes: 2, dimension: 4, seed: 8)
        func row(_ t: [Float], _ r: Int) -> [Float] { Array(t[(r * 4)..<(r * 4 + 4)]) }
        func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let expected = dot(row(m.user, 1), row(m.item, 2)) + dot(row(m.item, 2), row(m.attribute, 0))
            + dot(row(m.item, 2), row(m.attribute, 1))
        XCTAssertEqual(m.itemScore(user: 1, item: 2, attributes: [0, 1]), expected, accuracy: 1e-6)
        XCTAssertEqual(m.itemScores(userVector: m.userVector(1))[2], m.itemScore(user: 1, item: 2), accuracy: 1e-6)
    }

    func testSGDLowersTheLoss() {
        var m = FactorizationMachine(users: 2, items: 4, attributes: 3, dimension: 8, seed: 2)
        let t = BPRItemTriple(user: 0, positive: 1, negative: 3, attributes: [2])
        let a = BPRAttributeTriple(user: 0, positive: 0, negative: 1)
        let before = m.lossAndGradient(items: [t], attributes: [a], l2: 1e-3).loss
        for _ in 0..<20 { m.sgdStep(item: t, attribute: a, learningRate: 0.1, l2: 1e-3) }
        XCTAssertLessThan(m.lossAndGradient(items: [t], attributes: [a], l2: 1e-3).loss, before * 0.8)
    }

    func testSamplerIsProportionalToPositiveScores() {
        var rng = SeededGenerator(seed: 4)
        var counts = [0, 0, 0, 0]
        for _ in 0..<4000 { counts[InteractionSampler.sample(scores: [0, 1, 3, -1], count: 1, using: &rng)[0]] += 1 }
        XCTAssertEqual(counts[0] + counts[3], 0)
        XCTAssertEqual(Double(counts[2]) / 4000, 0.75, accuracy: 0.03)
        // Too few positive scores: the rest fill up by score.
        XCTAssertEqual(InteractionSampler.sample(scores: [0, 1, 3, -1], count: 4, using: &rng).suffix(2), [0, 3])
    }

    func testTrainingOnLastfmBeatsChance() throws {
        guard let folder = Corpora.crs("lastfm") else { throw XCTSkip("corpora/crs not found") }
        let d = try CRSDataset.load(directory: folder)
        var config = FMConfig()
        config.epochs = 2
        let trainer = FMTrainer(dataset: d, config: config)
        XCTAssertEqual(Set(trainer.trainPairs.map(\.user)).isSubset(of: Set(d.trainUsers)), true)
        let initial = trainer.heldOutAUC(FactorizationMachine(users: d.userCount, items: d.itemCount,
                                                              attributes: d.attributeCount, dimension: 64, seed: 1))
        let (model, reports) = trainer.train()
        XCTAssertEqual(reports.count, 2)
        XCTAssertLessThan(abs(initial - 0.5), 0.05)
        XCTAssertGreaterThan(reports.last!.heldOutAUC, 0.75)
        let sampled = InteractionSampler.sampleAll(dataset: d, model: model, count: 40, seed: 1)
        XCTAssertEqual(sampled[d.testUsers[0]].count, 40)
        XCTAssertEqual(Set(sampled[d.testUsers[0]]).count, 40)
    }
}

final class FMCheckpointTests: XCTestCase {
    func testSaveLoadRoundTripIsStrict() throws {
        let d = try CRSDataset.load(directory: CRSFixture.write())
        var config = FMConfig()
        config.dimension = 5
        let model = FactorizationMachine(users: d.userCount, items: d.itemCount, attributes: d.attributeCount,
                                         dimension: 5, seed: 3)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fm-\(UUID().uuidString)")
        try model.save(to: folder, config: config, metadata: ["dataset": d.name])
        let (loaded, loadedConfig) = try FactorizationMachine.load(from: folder, for: d)
        XCTAssertEqual(loaded.parameters, model.parameters)
        XCTAssertEqual(loadedConfig, config)
        let other = try CRSDataset(name: "other", attributeCount: 4, itemAttributes: [[0]], userAttributes: [[0]],
                                   userItems: [[0]], sampledInteractions: [[0]], trainUsers: [0], validUsers: [], testUsers: [])
        XCTAssertThrowsError(try FactorizationMachine.load(from: folder, for: other))
    }
}
