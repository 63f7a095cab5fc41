import Foundation
import XCTest
import Tensor
import Autograd
import NN
import Text
@testable import NLI
import TestSupport

/// NLI classifier, its data, training state and the consistency score C.
final class NLIClassifierTests: XCTestCase {
    let header = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    // MARK: SICK reader and split

    func testSICKReaderParsesFixtureFile() throws {
        let url = try temporaryFolder().appendingPathComponent("SICK.txt")
        try (header + "\n1\tA man runs\tA person runs\t4.5\tENTAILMENT\n"
             + "7\tA dog sleeps\tNo dog sleeps\t3.0\tCONTRADICTION\r\n3\tKids play\tA man cooks\t1.2\tNEUTRAL\n")
            .write(to: url, atomically: true, encoding: .utf8)
        let pairs = try SICK.read(url)
        XCTAssertEqual(pairs, [
            NLIPair(id: 1, premise: "A man runs", hypothesis: "A person runs", label: .entailment),
            NLIPair(id: 7, premise: "A dog sleeps", hypothesis: "No dog sleeps", label: .contradiction),
            NLIPair(id: 3, premise: "Kids play", hypothesis: "A man cooks", label: .neutral),
        ])
    }

    func testSICKReaderErrorsNameFileAndLine() {
        func problem(_ text: String) -> String {
            do { _ = try SICK.parse(text, file: "S.txt"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(problem("pair_ID\tsentence_A\n").hasPrefix("S.txt:1: header"))
        XCTAssertTrue(problem(header + "\n1\ta\tb\t1\tENTAILMENT\n2\ta\tb\t1\tMAYBE\n").hasPrefix("S.txt:3: entailment_judgment 'MAYBE'"))
        XCTAssertTrue(problem(header + "\n1\ta\tb\t1\n").hasPrefix("S.txt:2: 4 tab-separated fields"))
        XCTAssertTrue(problem(header + "\nx\ta\tb\t1\tNEUTRAL\n").hasPrefix("S.txt:2: pair_ID 'x'"))
        XCTAssertTrue(problem(header + "\n1\ta\tb\t1\tNEUTRAL\n1\tc\td\t1\tNEUTRAL\n").hasPrefix("S.txt:3: pair_ID 1 repeated"))
        XCTAssertTrue(problem(header + "\n1\t \tb\t1\tNEUTRAL\n").hasPrefix("S.txt:2: empty sentence"))
        XCTAssertTrue(problem(header + "\n1\ta\tb\thigh\tNEUTRAL\n").hasPrefix("S.txt:2: relatedness_score"))
    }

    func testNLIJSONLinesReadsSNLIAndMultiNLIFormats() throws {
        let text = """
        {"gold_label": "neutral", "sentence1": "A man plays.", "sentence2": "A man plays guitar.", "pairID": "1"}
        {"gold_label": "-", "sentence1": "A dog.", "sentence2": "A cat.", "annotator_labels": ["neutral", "contradiction"]}

        {"sentence1": "I love dogs.", "sentence2": "I hate dogs.", "gold_label": "contradiction", "genre": "telephone"}
        """
        let pairs = try NLIJSONLines.parse(text, file: "snli.jsonl")
        XCTAssertEqual(pairs.map(\.label), [.neutral, .contradiction], "no-majority pairs are skipped")
        XCTAssertEqual(pairs[1], NLIPair(id: 4, premise: "I love dogs.", hypothesis: "I hate dogs.", label: .contradiction))
        func problem(_ text: String) -> String {
            do { _ = try NLIJSONLines.parse(text, file: "n.jsonl"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(problem("{\"sentence1\": \"a\"").hasPrefix("n.jsonl:1: not a JSON object"))
        XCTAssertTrue(problem("{}\n{\"sentence1\": \"a\", \"sentence2\": \"b\"}").hasPrefix("n.jsonl:1: needs"))
        XCTAssertTrue(problem("{\"sentence1\": \"a\", \"sentence2\": \"b\", \"gold_label\": \"maybe\"}").hasPrefix("n.jsonl:1: gold_label 'maybe'"))
        XCTAssertTrue(problem("{\"sentence1\": \" \", \"sentence2\": \"b\", \"gold_label\": \"neutral\"}").hasPrefix("n.jsonl:1: empty sentence"))
        // A seeded sample: same seed, same pairs, file order kept.
        let many = (1...50).map { NLIPair(id: $0, premise: "p\($0)", hypothesis: "h", label: .neutral) }
        let sample = NLIJSONLines.sample(many, count: 10, seed: 3)
        XCTAssertEqual(sample, NLIJSONLines.sample(many, count: 10, seed: 3))
        XCTAssertNotEqual(sample, NLIJSONLines.sample(many, count: 10, seed: 4))
        XCTAssertEqual(sample.map(\.id), sample.map(\.id).sorted())
        XCTAssertEqual(NLIJSONLines.sample(many, count: 100, seed: 3), many)
    }

    func testNLIJSONLinesReaderSurvivesFuzz() {
        var rng = SeededGenerator(seed: 17)
        let seed = #"{"sentence1": "A man.", "sentence2": "A woman.", "gold_label": "contradiction"}"#
        for _ in 0..<300 {
            var bytes = Array(seed.utf8)
            for _ in 0..<Int(rng.next() % 4 + 1) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(rng.next() % 128)
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do { _ = try NLIJSONLines.parse(text, file: "f.jsonl") } catch let error as TextError {
                XCTAssertEqual(error.file, "f.jsonl")
            } catch { XCTFail("unexpected error \(error)") }
        }
    }

    func testRealSICKFileWhenPresent() throws {
        let url = CorpusRoot().file("nli/SICK.txt")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("no \(url.path)") }
        let pairs = try SICK.read(url)
        XCTAssertEqual(pairs.count, 9927)   // the corpus README says 9,926; the file holds 9,927 pairs
        let counts = Dictionary(grouping: pairs, by: \.label).mapValues(\.count)
        XCTAssertEqual(counts, [.neutral: 5611, .entailment: 2857, .contradiction: 1459])
        XCTAssertGreaterThan(counts[.neutral]!, counts[.entailment]!)
        XCTAssertGreaterThan(counts[.entailment]!, counts[.contradiction]!)
        let (train, validation, test) = SICK.split(pairs)
        XCTAssertEqual([train.count, validation.count, test.count], [6949, 993, 1985])
    }

    func pairs(_ ids: [Int]) -> [NLIPair] {
        ids.map { NLIPair(id: $0, premise: "p\($0)", hypothesis: "h\($0)", label: .neutral) }
    }

    func testSplitIsDeterministicDisjointAndComplete() {
        let data = pairs(Array(1...1000).map { $0 * 3 })
        let a = SICK.split(data, seed: 5), b = SICK.split(data.reversed(), seed: 5), c = SICK.split(data, seed: 6)
        XCTAssertEqual(a.train, b.train)
        XCTAssertEqual(a.test, b.test)
        XCTAssertNotEqual(a.train, c.train)
        XCTAssertEqual([a.train.count, a.validation.count, a.test.count], [700, 100, 200])
        let sets = [a.train, a.validation, a.test].map { Set($0.map(\.id)) }
        XCTAssertTrue(sets[0].isDisjoint(with: sets[1]) && sets[0].isDisjoint(with: sets[2]) && sets[1].isDisjoint(with: sets[2]))
        XCTAssertEqual(sets[0].union(sets[1]).union(sets[2]), Set(data.map(\.id)))
        XCTAssertEqual(a.train.map(\.id), a.train.map(\.id).sorted())
        // Not a prefix cut of the sorted ids.
        XCTAssertNotEqual(a.train.map(\.id), Array(data.map(\.id).prefix(700)))
    }

    // MARK: persona pairs

    func testPersonaPairsAreCappedSeededAndLabelled() {
        let map = ["1": [["i m a vegetarian", "i like cats"], ["i am a vegetarian", "i like cats"]],
                   "2": [["i drive a truck"]], "3": [["my mom is a nurse", "i hate rain"]]]
        let a = PersonaNLIPairs.make(personaMap: map, limit: 40, seed: 3)
        XCTAssertEqual(a, PersonaNLIPairs.make(personaMap: map, limit: 40, seed: 3))
        XCTAssertEqual(a.count, 40)
        XCTAssertEqual(a.filter { $0.label == .entailment }.count, 20)
        for p in a where p.label == .entailment {
            XCTAssertEqual(normalisedPersonaSentence(p.premise), normalisedPersonaSentence(p.hypothesis))
        }
        XCTAssertTrue(a.contains { $0.premise == "i m a vegetarian" && $0.hypothesis == "i am a vegetarian" })
        let cluster = ["i m a vegetarian": 1, "i am a vegetarian": 1, "i like cats": 1, "i drive a truck": 2,
                       "my mom is a nurse": 3, "i hate rain": 3]
        for p in a where p.label == .neutral { XCTAssertNotEqual(cluster[p.premise], cluster[p.hypothesis]) }
        XCTAssertEqual(normalisedPersonaSentence("I don't like kids."), "i do not like kids")
    }

    // MARK: classifier

    static let tiny = BertConfig(vocabularySize: 20, hiddenSize: 8, layers: 3, heads: 2, intermediateSize: 12,
                                 maxPositions: 16, hiddenDropout: 0, attentionDropout: 0)

    func tinyModel(trainedLayers: Int = 1, seed: UInt64 = 1) -> (NLIClassifier, Parameters) {
        let classifier = NLIClassifier(config: NLIConfig(bert: Self.tiny, trainedLayers: trainedLayers, maxLength: 16))
        var parameters = Parameters()
        var rng = SeededGenerator(seed: seed)
        classifier.encoder.initialize(into: &parameters, using: &rng)
        parameters = parameters.mapTensors { name, t in name.hasSuffix("LayerNorm.weight") ? t : t.map { $0 * 10 } }
        classifier.initializeHead(into: &parameters, seed: seed)
        parameters["classifier.weight"] = parameters["classifier.weight"]!.map { $0 * 20 }
        return (classifier, parameters)
    }

    func tinyEncodings() -> [BertEncoding] {
        [BertEncoding(inputIDs: [1, 5, 6, 2, 7, 2], tokenTypeIDs: [0, 0, 0, 0, 1, 1]),
         BertEncoding(inputIDs: [1, 9, 2, 3, 4, 8, 11, 2], tokenTypeIDs: [0, 0, 0, 1, 1, 1, 1, 1]),
         BertEncoding(inputIDs: [1, 12, 2, 13, 2], tokenTypeIDs: [0, 0, 0, 1, 1])]
    }

    func testClassifierGradientsMatchFiniteDifferences() {
        let (classifier, parameters) = tinyModel(trainedLayers: 3)
        let batch = BertBatch(tinyEncodings())
        let result = checkGradients(parameters: parameters, step: 1e-2, perTensor: 3) { g in
            crossEntropy(logits: classifier(g, batch), targets: [0, 2, 1])
        }
        XCTAssertLessThan(result.worstRelativeError, 2e-2, result.worstLocation)
        XCTAssertGreaterThan(result.checkedElements, 50)
    }

    func testHeadOnlyGradientsOnCachedStatesMatchFiniteDifferences() {
        let (classifier, parameters) = tinyModel(trainedLayers: 1)
        let encodings = tinyEncodings()
        let states = classifier.frozenStates(encodings, parameters: parameters, batchSize: 2)
        let batch = BertBatch(encodings)
        let c = Self.tiny.hiddenSize
        var input = [Float](repeating: 0, count: 3 * batch.length * c)
        for (row, s) in states.enumerated() { input.replaceSubrange((row * batch.length * c)..<(row * batch.length * c + s.count), with: s) }
        let trained = classifier.trainedSubset(parameters)
        XCTAssertEqual(Set(trained.names), Set(classifier.trainedShapes().names))
        XCTAssertTrue(trained.names.allSatisfy { $0.hasPrefix("classifier.") || $0.hasPrefix("bert.encoder.layer.2.") })
        let result = checkGradients(parameters: trained, step: 1e-2, perTensor: 4) { g in
            let x = g.constant(Tensor(shape: [3, batch.length, c], scalars: input))
            return crossEntropy(logits: classifier.logits(g, frozenOutput: x, batch: batch), targets: [1, 0, 2])
        }
        XCTAssertLessThan(result.worstRelativeError, 2e-2, result.worstLocation)
    }

    /// Cached lower blocks (computed in other batches, other padding) give the full forward's labels and logits.
    func testCachedStatesPredictLikeTheFullForward() {
        let (classifier, parameters) = tinyModel(trainedLayers: 1)
        let encodings = tinyEncodings()
        let full = classifier.probabilities(encodings, parameters: parameters, batchSize: 3)
        let states = classifier.frozenStates(encodings, parameters: parameters, batchSize: 1)
        XCTAssertEqual(states.map(\.count), encodings.map { $0.count * Self.tiny.hiddenSize })
        let cached = classifier.predict(states: states, encodings: encodings, parameters: parameters, batchSize: 3)
        XCTAssertEqual(cached, full.argmaxRows().map { NLILabel(rawValue: $0)! })
        // Batch composition does not change probabilities.
        assertClose(classifier.probabilities(encodings, parameters: parameters, batchSize: 1), full, absolute: 1e-5, relative: 1e-4)
    }

    /// The forward-only path (packed, no tape, fused kernels, rational erf) gives the Autograd path's
    /// logits within 1e-4 and the same labels; heads of depth 4 and width 12 exercise the scalar tails.
    func testForwardOnlyPathMatchesAutogradLogits() {
        let (classifier, parameters) = tinyModel(trainedLayers: 1)
        let encodings = tinyEncodings() + [BertEncoding(inputIDs: [1, 2], tokenTypeIDs: [0, 0])]
        let g = Graph(parameters: parameters, trainable: false)
        let reference = classifier(g, BertBatch(encodings)).value                               // [4, K]
        let inference = classifier.inference(parameters)
        for batchSize in [1, 3, 512] {
            let fast = classifier.logits(encodings, inference: inference, parameters: parameters, batchSize: batchSize)
            XCTAssertEqual(fast.shape, reference.shape)
            let worst = zip(fast.scalars, reference.scalars).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-4, "batch size \(batchSize): worst logit difference \(worst)")
            XCTAssertEqual(fast.argmaxRows(), reference.argmaxRows())
        }
        XCTAssertGreaterThan(reference.scalars.map(abs).max()!, 1, "fixture logits too small to tell paths apart")
    }

    /// A token with attention mask 0 is neither attended to nor pooled, as in the padded Autograd path.
    func testForwardOnlyPathHonoursExplicitMask() {
        let (classifier, parameters) = tinyModel(trainedLayers: 1)
        let masked = BertEncoding(inputIDs: [1, 5, 6, 2, 7, 2, 9, 9], tokenTypeIDs: [0, 0, 0, 0, 1, 1, 0, 0],
                                  attentionMask: [1, 1, 1, 1, 1, 1, 0, 0])
        let fast = classifier.logits([masked], inference: classifier.inference(parameters), parameters: parameters)
        let plain = classifier.logits([tinyEncodings()[0]], inference: classifier.inference(parameters), parameters: parameters)
        assertClose(fast, plain, absolute: 1e-5, relative: 0)
    }

    /// The rational erf inside GELU stays within 1e-6 of libm's erf.
    func testFastErfMatchesLibm() {
        var worst: Float = 0
        for i in stride(from: -8000, through: 8000, by: 8) {
            let x = SIMD8<Float>((0..<8).map { Float(i + $0) / 1000 })
            let y = fastErf(x)
            for lane in 0..<8 { worst = max(worst, abs(y[lane] - erf(x[lane]))) }
        }
        XCTAssertLessThan(worst, 1e-6, "worst |fastErf - erf| \(worst)")
    }

    func testTrainingResumesExactlyFromSavedState() throws {
        let (classifier, parameters) = tinyModel(trainedLayers: 1)
        let encodings = tinyEncodings() + tinyEncodings()
        let states = classifier.frozenStates(encodings, parameters: parameters)
        let labels: [NLILabel] = [.entailment, .contradiction, .neutral, .neutral, .entailment, .contradiction]
        var options = NLITrainingOptions()
        options.batchSize = 2
        options.epochs = 2
        var straight = NLITrainer(classifier: classifier, parameters: parameters, encodings: encodings, states: states, labels: labels, options: options)
        var first = straight
        let batches = straight.batches(epoch: 0)
        XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(0..<6))
        var losses: [Float] = []
        for b in batches { losses.append(straight.trainStep(b)) }
        _ = first.trainStep(batches[0])

        let folder = try temporaryFolder()
        try Checkpoint.save(parameters: classifier.trainedSubset(first.parameters), config: classifier.config,
                            kind: NLIClassifier.checkpointKind, to: folder, optimizer: first.optimizerState)
        let saved = try Checkpoint.load(from: folder, kind: NLIClassifier.checkpointKind, expecting: classifier.trainedShapes())
        var resumed = NLITrainer(classifier: classifier, parameters: parameters, encodings: encodings, states: states, labels: labels, options: options)
        try resumed.restore(trained: saved.parameters, optimizer: XCTUnwrap(saved.optimizer))
        XCTAssertEqual(resumed.step, 1)
        for b in batches.dropFirst() { _ = resumed.trainStep(b) }
        XCTAssertEqual(resumed.parameters, straight.parameters)
        XCTAssertNotEqual(straight.parameters, parameters)
        XCTAssertEqual(straight.parameters["bert.encoder.layer.0.output.dense.weight"], parameters["bert.encoder.layer.0.output.dense.weight"])
        XCTAssertEqual(straight.batches(epoch: 1).count, 3)
        XCTAssertNotEqual(straight.batches(epoch: 1), batches)
    }

    /// A pretrained folder (config.json, model.safetensors) holding the encoder tensors of `parameters`.
    func pretrainedFolder(_ parameters: Parameters) throws -> URL {
        let pretrained = try temporaryFolder()
        var base = Parameters()
        for (name, _) in BertEncoder(config: Self.tiny).parameterShapes() { base[name] = parameters["bert." + name] }
        try SafeTensors.write(base, metadata: [:], to: pretrained.appendingPathComponent("model.safetensors"))
        try JSONEncoder().encode(Self.tiny).write(to: pretrained.appendingPathComponent("config.json"))
        return pretrained
    }

    /// Only trained tensors are saved; loading completes them from a pretrained folder; strict on shapes.
    func testCheckpointRoundTripWithPretrainedFolder() throws {
        let (classifier, parameters) = tinyModel(trainedLayers: 1)
        let pretrained = try pretrainedFolder(parameters)

        var tuned = parameters
        tuned["classifier.bias"] = Tensor([0.5, -1, 2])
        tuned["bert.encoder.layer.2.output.dense.bias"] = tuned["bert.encoder.layer.2.output.dense.bias"]!.map { $0 + 1 }
        let folder = try temporaryFolder().appendingPathComponent("nli")
        try Checkpoint.save(parameters: classifier.trainedSubset(tuned), config: classifier.config,
                            kind: NLIClassifier.checkpointKind, to: folder)
        let saved = try Checkpoint.load(from: folder)
        XCTAssertEqual(saved.parameters.count, 16 + 2)   // one block (16 tensors) + head
        let (loaded, loadedParameters, _) = try NLIClassifier.load(checkpoint: folder, pretrained: pretrained)
        XCTAssertEqual(loaded.config, classifier.config)
        XCTAssertEqual(Set(loadedParameters.names), Set(tuned.names))
        for (name, tensor) in tuned { XCTAssertEqual(loadedParameters[name], tensor, name) }

        var wrong = classifier.trainedSubset(tuned)
        wrong["classifier.bias"] = Tensor([0, 0])
        try Checkpoint.save(parameters: wrong, config: classifier.config, kind: NLIClassifier.checkpointKind, to: folder)
        XCTAssertThrowsError(try NLIClassifier.load(checkpoint: folder, pretrained: pretrained)) {
            XCTAssertTrue("\($0)".contains("classifier.bias"), "\($0)")
        }
    }

    /// `initFrom` starts a run from a saved NLI checkpoint's tensors, not from the pretrained blocks and a new head.
    func testFineTuningContinuesFromACheckpoint() throws {
        let (classifier, parameters) = tinyModel(trainedLayers: 1)
        let pretrained = try pretrainedFolder(parameters)
        let words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "love", "hate", "dogs", "cats", "a", "man",
                     "woman", "runs", "sits", "is", "not", "have", "no", "."]
        try (words.joined(separator: "\n") + "\n").write(to: pretrained.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)

        var start = parameters
        start["classifier.bias"] = Tensor([3, -3, 1])
        let startFolder = try temporaryFolder().appendingPathComponent("start")
        try Checkpoint.save(parameters: classifier.trainedSubset(start), config: classifier.config,
                            kind: NLIClassifier.checkpointKind, to: startFolder)
        let pairs = [NLIPair(id: 0, premise: "i love dogs", hypothesis: "i hate dogs", label: .contradiction),
                     NLIPair(id: 0, premise: "a man runs", hypothesis: "a man is not sitting", label: .entailment),
                     NLIPair(id: 0, premise: "i have cats", hypothesis: "a woman sits", label: .neutral)]
        var options = NLITrainingOptions()
        options.epochs = 1
        options.batchSize = 3
        options.encoderLearningRate = 1e-9
        options.headLearningRate = 1e-9
        var run = NLIFineTuning(pretrained: pretrained, trainedLayers: 1, options: options, train: pairs, validation: pairs,
                                data: "test", split: "test")
        run.initFrom = startFolder
        let continued = try temporaryFolder().appendingPathComponent("continued")
        _ = try run.train(into: continued, log: { _ in })
        let saved = try Checkpoint.load(from: continued)
        for (found, expected) in zip(saved.parameters["classifier.bias"]!.scalars, [Float(3), -3, 1]) {
            XCTAssertEqual(found, expected, accuracy: 1e-4)
        }
        XCTAssertTrue(saved.metadata["data"]!.contains("continued from start"), saved.metadata["data"]!)

        run.initFrom = nil
        let fresh = try temporaryFolder().appendingPathComponent("fresh")
        _ = try run.train(into: fresh, log: { _ in })
        XCTAssertGreaterThan(abs(try Checkpoint.load(from: fresh).parameters["classifier.bias"]!.scalars[0] - 3), 1, "a fresh head")
    }

    func testLinearWarmupDecay() {
        let s = LinearWarmupDecay(peak: 1, warmup: 10, total: 110)
        XCTAssertEqual(s.learningRate(at: 5), 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.learningRate(at: 10), 1, accuracy: 1e-6)
        XCTAssertEqual(s.learningRate(at: 60), 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.learningRate(at: 110), 0, accuracy: 1e-6)
    }

    func testAccuracyPerClass() {
        let a = NLIAccuracy(gold: [.entailment, .entailment, .neutral, .contradiction],
                            predicted: [.entailment, .neutral, .neutral, .entailment])
        XCTAssertEqual(a.overall, 0.5)
        XCTAssertEqual(a.accuracy(.entailment), 0.5)
        XCTAssertEqual(a.accuracy(.neutral), 1)
        XCTAssertEqual(a.accuracy(.contradiction), 0)
        XCTAssertEqual(a.confusion[2][0], 1)
    }

    // MARK: consistency

    /// Labels from a table; records the pairs it was asked about.
    final class StubPredictor: NLIPredictor {
        var table: [String: NLILabel]
        var asked: [(premise: String, hypothesis: String)] = []
        init(_ table: [String: NLILabel]) { self.table = table }
        func predict(_ pairs: [(premise: String, hypothesis: String)]) -> [NLILabel] {
            asked += pairs
            return pairs.map { table["\($0.premise)|\($0.hypothesis)"] ?? .neutral }
        }
    }

    func testConsistencyFromStubbedLabels() {
        let stub = StubPredictor(["i love dogs|i have a dog": .entailment, "i love dogs|i hate animals": .contradiction,
                                  "i am a vegan|i hate animals": .contradiction, "i am a vegan|i eat meat": .contradiction,
                                  "hi|i eat meat": .entailment])
        let scorer = ConsistencyScorer(predictor: stub)
        let scored = scorer.score([("i love dogs", ["i have a dog", "i hate animals", "i like rain"]),
                                   ("i am a vegan", ["i hate animals", "i eat meat"]),
                                   ("hi", [])])
        XCTAssertEqual(scored.map(\.score), [0, -2, 0])
        XCTAssertEqual(scored[0].labels, [.entailment, .contradiction, .neutral])
        XCTAssertEqual(ConsistencyScorer.meanScore(scored), -2.0 / 3, accuracy: 1e-12)
        // premise = utterance, hypothesis = persona sentence.
        XCTAssertEqual(stub.asked.first?.premise, "i love dogs")
        XCTAssertEqual(stub.asked.first?.hypothesis, "i have a dog")
        XCTAssertEqual(stub.asked.count, 5)
    }

    /// Highest C wins; equal C goes to the higher beam score; persona sentences are the hypotheses.
    func testRerankerPicksMostConsistentThenBeamScore() {
        struct Keywords: NLIPredictor {
            func predict(_ pairs: [(premise: String, hypothesis: String)]) -> [NLILabel] {
                pairs.map { pair in
                    if pair.premise.contains("hate") && pair.hypothesis.contains("love") { return .contradiction }
                    return pair.premise.contains("dog") && pair.hypothesis.contains("dog") ? .entailment : .neutral
                }
            }
        }
        let reranker = ConsistencyReranker(predictor: Keywords())
        let persona = ["i love my dog.", "i live in paris."]
        let beam: [(text: String, score: Float)] = [("i hate dogs .", -0.5), ("hello there .", -0.7),
                                                    ("my dog is big .", -0.9), ("i have a dog too .", -0.8)]
        let (best, scored) = reranker.rerank(beam, persona: persona)
        XCTAssertEqual(scored.map(\.score), [-1, 0, 1, 1])
        XCTAssertEqual(best, 3, "C ties between 2 and 3 go to the better beam score")
        XCTAssertEqual(reranker.rerank([("hello there .", -0.7), ("good morning .", -0.3)], persona: persona).best, 1,
                       "all C = 0: the better beam score")
        XCTAssertEqual(reranker.rerank([("i hate it", -0.1), ("ok", -2)], persona: ["i love it"]).best, 1)
    }

    func testTranscriptJSONLErrorsCarryLineNumbers() throws {
        func problem(_ text: String) -> String {
            do { _ = try Transcript.parseJSONL(text, file: "t.jsonl"); return "no error" } catch { return "\(error)" }
        }
        let good = #"{"speaker": "bot", "text": "i love dogs", "persona": ["i have a dog"]}"#
        XCTAssertEqual(try Transcript.parseJSONL(good + "\n\n" + good, file: "t.jsonl").map(\.line), [1, 3])
        XCTAssertTrue(problem(good + "\n{\"speaker\": \"bot\", \"persona\": []}").hasPrefix("t.jsonl:2: missing field \"text\""))
        XCTAssertTrue(problem(good + "\n" + good + "\nnot json").hasPrefix("t.jsonl:3: not a JSON object"))
        XCTAssertTrue(problem(#"{"speaker": "a", "text": "x", "persona": "one"}"#).hasPrefix("t.jsonl:1: field \"persona\" has the wrong type"))
        XCTAssertTrue(problem(#"{"speaker": "a", "text": " ", "persona": []}"#).hasPrefix("t.jsonl:1: empty \"text\""))
    }

    func testTranscriptReadsConvAI2Responses() throws {
        let url = try temporaryFolder().appendingPathComponent("dialogue.txt")
        try "1 your persona: i like cats.\n2 your persona: i am tall.\n3 hello\thi there , i am tall .\n4 nice\ti have a cat .\n"
            .write(to: url, atomically: true, encoding: .utf8)
        let turns = try Transcript.read(url)
        XCTAssertEqual(turns.map(\.text), ["hi there , i am tall .", "i have a cat ."])
        XCTAssertEqual(turns.map(\.line), [3, 4])
        XCTAssertEqual(turns[0].persona, ["i like cats.", "i am tall."])
        let bad = try temporaryFolder().appendingPathComponent("bad.txt")
        try "1 your persona: i like cats.\n3 hello\thi\n".write(to: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Transcript.read(bad)) { XCTAssertTrue("\($0)".contains("bad.txt:2:"), "\($0)") }
    }
}
