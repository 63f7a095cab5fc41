import Autograd
import Dialogue
import Foundation
import NN
import Tensor
import Text
import TestSupport
import XCTest
@testable import Recommender
@testable import SpokenRecommender

final class ActionLanguageTests: XCTestCase {
    /// Every lastfm attribute and a sample of artists (plus every non-ASCII or punctuated name) comes back
    /// exactly from every template of its kind, and the check rejects a sentence with a wrong name.
    func testSlotFillingRoundTripOnLastfmNames() throws {
        guard let folder = Corpora.crs("lastfm") else { throw XCTSkip("corpora/crs not found") }
        let d = try CRSDataset.load(directory: folder)
        let tokenizer = Tokenizer()
        XCTAssertEqual(d.attributeCount, 33)
        for a in 0..<d.attributeCount {
            let action = CRSAction.ask(attribute: a)
            let kind = ActionKind.of(action, in: d)
            XCTAssertEqual(kind == .askEra, ["60s", "80s", "90s", "00s"].contains(d.attributeLabel(a)), d.attributeLabel(a))
            for (k, template) in ActionPairMiner.templates where k == kind {
                let tokens = tokenizer.tokenize(template)
                XCTAssertTrue(SlotFiller.isWellFormed(tokens, kind: kind), template)
                let sentence = SlotFiller.fill(tokens, text: SlotFiller.slotText(action, dataset: d))
                XCTAssertTrue(SlotFiller.carriesNames(sentence, [d.attributeLabel(a)]), sentence)
                XCTAssertFalse(sentence.contains(ActionSlot.attribute), sentence)
            }
        }
        let named = d.itemNames!.keys.sorted()
        var rng = SeededGenerator(seed: 7)
        let unusual = named.filter { id in d.itemNames![id]!.unicodeScalars.contains { !$0.isASCII || "&$!.,'".unicodeScalars.contains($0) } }
        let sample = (0..<300).map { _ in named[Int(rng.next() % UInt64(named.count))] } + unusual
        XCTAssertGreaterThan(unusual.count, 400)
        for start in stride(from: 0, to: sample.count - 3, by: 3) {
            let action = CRSAction.recommend(items: Array(sample[start..<(start + 3)]))
            for (k, template) in ActionPairMiner.templates where k == .recommend {
                let sentence = SlotFiller.fill(tokenizer.tokenize(template), text: SlotFiller.slotText(action, dataset: d))
                XCTAssertTrue(SlotFiller.carriesNames(sentence, SlotFiller.requiredNames(action, dataset: d)), sentence)
            }
        }
        let wrong = SlotFiller.fill(tokenizer.tokenize("do you like xattr ?"), text: "jazz")
        XCTAssertFalse(SlotFiller.carriesNames(wrong, ["rock"]))
        XCTAssertFalse(SlotFiller.isWellFormed(["do", "you", "like", "?"], kind: .askGenre))
        XCTAssertFalse(SlotFiller.isWellFormed(["xattr", "or", "xattr", "?"], kind: .askGenre))
        XCTAssertFalse(SlotFiller.isWellFormed(["try", "xattr", "."], kind: .recommend))
    }

    func testMiningDelexicalisesFramesAndIsDeterministic() {
        let utterances = [
            "hi , do you like country music ? i do .", "do you like to travel ?", "you should check out the beatles !",
            "so , what do you think of taylor swift ?", "as a librarian , do you like books ?",
            "Have you heard of Rob Dryden?", "do you like it ?", "i like dogs .",
        ]
        let miner = ActionPairMiner(seed: 3)
        let (frames, ask, recommend) = miner.mine(utterances)
        XCTAssertEqual(frames.map(\.text), [
            "hi , do you like xattr music ?", "you should check out xitem !", "so , what do you think of xattr ?",
            "have you heard of xitem ?",
        ])
        XCTAssertEqual(ask, 2)
        XCTAssertEqual(recommend, 2)
        let first = miner.pairs(utterances: utterances), second = miner.pairs(utterances: utterances)
        XCTAssertEqual(first.train, second.train)
        XCTAssertEqual(first.heldOut, second.heldOut)
        XCTAssertTrue(Set(first.train.map(\.frame)).isDisjoint(with: first.heldOut.map(\.frame)))
        XCTAssertFalse(first.heldOut.isEmpty)
        XCTAssertEqual(first.statistics.trainPairs + first.statistics.heldOutPairs, first.train.count + first.heldOut.count)
        for pair in first.train + first.heldOut {
            XCTAssertTrue(SlotFiller.isWellFormed(pair.target.split(separator: " ").map(String.init), kind: pair.kind), pair.target)
            XCTAssertEqual(pair.source, actionSource(pair.kind, context: pair.context))
            if pair.context == .start { XCTAssertEqual(pair.target, pair.frame) }
        }
        let other = ActionPairMiner(seed: 4).pairs(utterances: utterances)
        XCTAssertNotEqual(other.heldOut.map(\.frame), first.heldOut.map(\.frame))
    }

    func testStyleFileIsDelexicalisedAndBadLinesNameTheLine() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crs-style-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("style.tsv")
        try "# pirate\nask\trock\tArr, be ye fond of ROCK, matey?\nrecommend\tBlur\tHoist the sails for Blur!\n"
            .write(to: good, atomically: true, encoding: .utf8)
        let pairs = try ActionPairMiner.styleExamples(good)
        XCTAssertEqual(pairs.count, 6)
        XCTAssertEqual(pairs[0].target, "arr , be ye fond of xattr , matey ?")
        XCTAssertEqual(pairs[0].kind, .askGenre)
        XCTAssertEqual(pairs[3].target, "hoist the sails for xitem !")
        let bad = folder.appendingPathComponent("bad.tsv")
        try "ask\trock\tDo you like rock?\nask\tjazz\tDo you like blues?\n".write(to: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ActionPairMiner.styleExamples(bad)) { error in
            XCTAssertTrue("\(error)".contains("line 2"), "\(error)")
        }
    }

    /// A tiny Seq2Seq trained on two pairs renders both actions with the right names (greedy decoding).
    func testRealiserOfATinyTrainedModelSaysTheRightNames() throws {
        let d = try CRSDataset.load(directory: CRSFixture.write())
        let pairs = [
            ActionPair(kind: .askGenre, context: .start, source: actionSource(.askGenre, context: .start),
                       target: "do you like xattr music ?", frame: "", origin: "test"),
            ActionPair(kind: .recommend, context: .start, source: actionSource(.recommend, context: .start),
                       target: "you should listen to xitem .", frame: "", origin: "test"),
        ]
        var counts: [String: Int] = [:]
        for p in pairs { for t in (p.source + " " + p.target).split(separator: " ") { counts[String(t), default: 0] += 1 } }
        let vocabulary = Vocabulary(counts: counts)
        let format = DialogueFormat(maxHistoryTurns: 1, maxSourceTokens: 16)
        let model = Seq2Seq(config: Seq2SeqConfig(
            vocabularySize: vocabulary.count, embeddingWidth: 16,
            transformer: TransformerConfig(layers: 1, width: 32, heads: 2, keyDepth: 32, valueDepth: 32, filterSize: 32,
                                           inputDropout: 0, layerDropout: 0, attentionDropout: 0, reluDropout: 0),
            labelSmoothing: 0))
        let encoder = ExampleEncoder(vocabulary: vocabulary, format: format)
        let batch = Seq2SeqBatch(sources: pairs.map { $0.encoded(with: encoder).source },
                                 responses: pairs.map { $0.encoded(with: encoder).response })
        var parameters = model.initialParameters(seed: 1)
        var adam = Adam(learningRate: 1e-2)
        for step in 0..<150 {
            let (_, gradients) = valueAndGradient(at: parameters, training: false, seed: UInt64(step)) { g in model.loss(g, batch) }
            adam.update(&parameters, gradients: gradients)
        }
        let realiser = ActionRealiser(model: model, parameters: parameters, vocabulary: vocabulary, format: format,
                                      strategy: .greedy)
        let ask = realiser.realise(.ask(attribute: 0), context: .start, dataset: d, seed: 0)
        XCTAssertEqual(ask.text, "Do you like rock music?")
        XCTAssertTrue(ask.slotCorrect)
        XCTAssertFalse(ask.usedFallback)
        let recommend = realiser.realise(.recommend(items: [3, 0]), context: .start, dataset: d, seed: 0)
        XCTAssertEqual(recommend.text, "You should listen to Oasis or Blur.")
        XCTAssertTrue(recommend.slotCorrect)
        // Slot-exact decoding: even an untrained model's sentence carries the placeholder exactly once.
        let untrained = ActionRealiser(model: model, parameters: model.initialParameters(seed: 2), vocabulary: vocabulary,
                                       format: format, strategy: .greedy)
        let constrained = untrained.realise(.ask(attribute: 1), context: .start, dataset: d, seed: 0)
        XCTAssertFalse(constrained.usedFallback, constrained.decoded.joined(separator: " "))
        XCTAssertTrue(constrained.slotCorrect)
        XCTAssertTrue(constrained.text.contains("90s"), constrained.text)
        // Only a vocabulary without the placeholder leaves the template to stand in, marked as a fallback.
        var withoutSlot = counts
        withoutSlot["xattr"] = nil
        withoutSlot["zzz"] = 1
        let blind = ActionRealiser(model: model, parameters: model.initialParameters(seed: 2), vocabulary: Vocabulary(counts: withoutSlot),
                                   format: format, strategy: .greedy)
        let fallback = blind.realise(.ask(attribute: 1), context: .start, dataset: d, seed: 0)
        XCTAssertTrue(fallback.usedFallback)
        XCTAssertFalse(fallback.slotCorrect)
        XCTAssertTrue(fallback.text.contains("90s"), fallback.text)
    }
}
