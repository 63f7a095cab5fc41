import XCTest
import Autograd
import Dialogue
import NN
import Tensor
import Text
import TestSupport

final class Seq2SeqTests: XCTestCase {
    /// A tiny model: V = 12 (4 specials + 8 words), E = 6 projected to C = 8, 2 layers.
    let model = Seq2Seq(config: Seq2SeqConfig(
        vocabularySize: 12, embeddingWidth: 6,
        transformer: TransformerConfig(layers: 2, width: 8, heads: 2, keyDepth: 8, valueDepth: 8, filterSize: 16),
        labelSmoothing: 0.1))

    func testBatchShiftsTargetsAndPads() {
        let batch = Seq2SeqBatch(sources: [[4, 5, 6], [7]], responses: [[8, 9], [10]])
        XCTAssertEqual(batch.sourceLength, 3)
        XCTAssertEqual(batch.targetLength, 3)
        XCTAssertEqual(batch.sourceIDs, [4, 5, 6, 7, 1, 1])
        XCTAssertEqual(batch.sourcePadding, [false, false, false, false, true, true])
        XCTAssertEqual(batch.targetInput, [3, 8, 9, 3, 10, 1])
        XCTAssertEqual(batch.targetOutput, [8, 9, 2, 10, 2, 1])
        XCTAssertEqual(batch.targetTokenCount, 5)
    }

    /// Cutting a batch into sub-batches (with an empty history among them) and running them side by side
    /// gives the loss and gradients of one pass over the whole batch, on two threads and on one.
    func testSplitBatchGivesTheWholeBatchLossAndGradients() {
        let parameters = model.initialParameters(seed: 6)
        let batch = Seq2SeqBatch(sources: [[4, 5, 6, 7], [8, 9], [], [10, 11, 4], [5]],
                                 responses: [[10, 11, 4], [5], [6, 7], [8], [9, 10, 11, 4]])
        let parts = batch.split(into: 2)
        XCTAssertEqual(parts.map(\.batchSize), [3, 2])
        XCTAssertEqual(parts.map(\.targetTokenCount).reduce(0, +), batch.targetTokenCount)
        XCTAssertEqual(parts[0].sourceIDs, [4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(parts[1].targetOutput, [8, 2, 1, 1, 1, 9, 10, 11, 4, 2])
        let whole = valueAndGradient(at: parameters, training: false) { model.loss($0, batch) }
        defer { setBLASThreads(2) }
        for threads in [2, 1] {
            setBLASThreads(threads)
            let split = model.lossAndGradient(at: parameters, batch: batch, training: false)
            assertClose(Tensor(scalar: split.value), Tensor(scalar: whole.value), relative: 1e-5, "\(threads) threads")
            for name in parameters.names {
                assertClose(split.gradients.require(name), whole.gradients.require(name), absolute: 1e-5,
                            "\(threads) threads: \(name)")
            }
        }
    }

    /// The whole model (tied embedding, input projections, both stacks, output projection, smoothed
    /// loss) against central differences. Float32 with step 1e-2: see `checkGradients` for the tolerance.
    func testWholeModelGradientCheck() {
        let parameters = model.initialParameters(seed: 3)
        let batch = Seq2SeqBatch(sources: [[4, 5, 6, 7], [8, 9]], responses: [[10, 11, 4], [5]])
        let result = checkGradients(parameters: parameters, perTensor: 3) { g in model.loss(g, batch) }
        XCTAssertLessThan(result.worstRelativeError, 1e-2, result.description)
        XCTAssertGreaterThan(result.checkedElements, parameters.count * 2)
    }

    /// Perplexity's NLL equals the unsmoothed training loss times the token count.
    func testNegativeLogLikelihoodMatchesUnsmoothedLoss() {
        let parameters = model.initialParameters(seed: 4)
        let batch = Seq2SeqBatch(sources: [[4, 5, 6, 7], [8, 9]], responses: [[10, 11, 4], [5]])
        let (total, count) = model.negativeLogLikelihood(parameters: parameters, batch: batch)
        let g = Graph(parameters: parameters, trainable: false)
        let mean = model.loss(g, batch, labelSmoothing: 0).value.scalar
        XCTAssertEqual(count, 6)
        assertClose(Float(total / Double(count)), mean, relative: 1e-5)
    }

    /// Trains on a copy task until it is learnt; then greedy and beam search must reproduce the source,
    /// and beam search with size 1 must equal greedy decoding.
    func testLearnsToCopyAndDecodersAgree() {
        var parameters = model.initialParameters(seed: 5)
        var rng = SeededGenerator(seed: 6)
        var optimizer = Adam(learningRate: 0.01)
        let examples: [[Int]] = (0..<16).map { _ in (0..<4).map { _ in 4 + Int(rng.next() % 8) } }
        var lastLoss: Float = .infinity
        for _ in 0..<300 {
            let batch = Seq2SeqBatch(sources: examples, responses: examples)
            let (loss, gradients) = valueAndGradient(at: parameters) { g in model.loss(g, batch, labelSmoothing: 0) }
            optimizer.update(&parameters, gradients: gradients)
            lastLoss = loss
        }
        XCTAssertLessThan(lastLoss, 0.05, "copy task not learnt")
        let options = DecodingOptions(maxLength: 8, minLength: 0)
        for source in examples.prefix(4) {
            let greedy = model.generate(parameters: parameters, source: source, strategy: .greedy, options: options)[0]
            let beamOne = model.generate(parameters: parameters, source: source, strategy: .beam(size: 1), options: options)[0]
            let beamFive = model.generate(parameters: parameters, source: source, strategy: .beam(size: 5), options: options)
            XCTAssertEqual(greedy.tokens, source)
            XCTAssertEqual(beamOne.tokens, greedy.tokens)
            assertClose(beamOne.logProbability, greedy.logProbability, absolute: 1e-4)
            XCTAssertEqual(beamFive[0].tokens, source)
            XCTAssertEqual(beamFive.count, 5)
            XCTAssertTrue(zip(beamFive, beamFive.dropFirst()).allSatisfy { $0.score >= $1.score })
        }
    }

    /// Incremental decoding (one token at a time through the KV cache) scores a response exactly as
    /// the teacher-forced forward does.
    func testCachedDecodingMatchesTeacherForcing() {
        let parameters = model.initialParameters(seed: 7)
        let source = [4, 5, 6]
        let response = [7, 8, 9, 10]
        let batch = Seq2SeqBatch(sources: [source], responses: [response])
        let full = Graph(parameters: parameters, trainable: false)
        var none: KeyValueCache? = nil
        let teacher = model.logits(full, targetIDs: batch.targetInput, batchSize: 1, memory: model.encode(full, batch),
                                   sourcePadding: batch.sourcePadding, cache: &none).value   // [1, T, V]
        let g = Graph(parameters: parameters, trainable: false)
        let memory = model.encode(g, batch)
        var cache: KeyValueCache? = KeyValueCache(layers: 2)
        for (t, token) in batch.targetInput.enumerated() {
            let step = model.logits(g, targetIDs: [token], batchSize: 1, memory: memory,
                                    sourcePadding: batch.sourcePadding, cache: &cache).value  // [1, 1, V]
            let expected = Tensor(shape: [12], scalars: Array(teacher.scalars[(t * 12)..<((t + 1) * 12)]))
            assertClose(step.reshaped([12]), expected, absolute: 1e-4, "position \(t)")
        }
    }

    func testTopKSamplingIsSeededAndRespectsMinimumLength() {
        let parameters = model.initialParameters(seed: 8)
        let options = DecodingOptions(maxLength: 10, minLength: 6, seed: 9)
        let a = model.generate(parameters: parameters, source: [4, 5], strategy: .topK(k: 3, temperature: 1), options: options)
        let b = model.generate(parameters: parameters, source: [4, 5], strategy: .topK(k: 3, temperature: 1), options: options)
        XCTAssertEqual(a, b)
        XCTAssertGreaterThanOrEqual(a[0].tokens.count, 6)
        XCTAssertFalse(a[0].tokens.contains { $0 < 4 && $0 != Vocabulary.unkID }, "structural token generated")
    }

    // MARK: DialogueCheckpoint: one save, one load, every check

    func testDialogueCheckpointRoundTripAndChecks() throws {
        let folder = try TemporaryFolder("paml-dialogue-checkpoint")
        defer { folder.remove() }
        let vocabulary = try Vocabulary(words: (0..<8).map { "w\($0)" })
        let config = DialogueModelConfig(system: .paml, model: model.config, format: DialogueFormat(), dataSeed: 3)
        let saved = DialogueCheckpoint(config: config, parameters: model.initialParameters(seed: 1), vocabulary: vocabulary,
                                       metadata: ["note": "x"])
        try saved.save(to: folder.url)
        let loaded = try DialogueCheckpoint(folder: folder.url)
        XCTAssertEqual(loaded.config, config)
        XCTAssertEqual(loaded.parameters, saved.parameters)
        XCTAssertEqual(loaded.vocabulary, vocabulary)
        XCTAssertEqual(loaded.metadata, ["note": "x"])

        // A vocabulary cut short no longer matches the config's size.
        let vocabularyFile = folder.file("vocab.txt")
        let lines = try String(contentsOf: vocabularyFile, encoding: .utf8).split(separator: "\n")
        try (lines.prefix(10).joined(separator: "\n") + "\n").write(to: vocabularyFile, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DialogueCheckpoint(folder: folder.url)) {
            XCTAssertTrue("\($0)".contains("holds 10 words, but config.json says model.vocabularySize = 12"), "\($0)")
        }
        try vocabulary.save(to: vocabularyFile)

        // A config the model cannot be built from is refused with the field named.
        let configFile = folder.file("config.json")
        let text = try String(contentsOf: configFile, encoding: .utf8)
        try text.replacingOccurrences(of: "\"heads\" : 2", with: "\"heads\" : 3").write(to: configFile, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DialogueCheckpoint(folder: folder.url)) {
            XCTAssertTrue("\($0)".contains("config.transformer.keyDepth = 8: must be a multiple of transformer.heads (3)"), "\($0)")
        }
    }

    func testConfigsRefuseValuesTheModelCannotUse() {
        var transformer = model.config.transformer
        XCTAssertNoThrow(try transformer.validate())
        for change in [{ (t: inout TransformerConfig) in t.heads = 0 }, { $0.width = 0 }, { $0.width = -3 }, { $0.layers = 0 },
                       { $0.filterSize = 0 }, { $0.layerDropout = 1.5 }, { $0.reluDropout = .nan }, { $0.keyDepth = 7 },
                       { $0.width = 1 << 30 }] {
            transformer = model.config.transformer
            change(&transformer)
            XCTAssertThrowsError(try transformer.validate(), "\(transformer)")
        }
        var sizes = model.config
        sizes.labelSmoothing = 1
        XCTAssertThrowsError(try sizes.validate())
        sizes = model.config
        sizes.vocabularySize = 2
        XCTAssertThrowsError(try sizes.validate())
        XCTAssertThrowsError(try DialogueFormat(maxHistoryTurns: 0).validate())
    }
}

/// The dialogue model with the pointer-generator output.
final class PointerGeneratorSeq2SeqTests: XCTestCase {
    let model = Seq2Seq(config: Seq2SeqConfig(
        vocabularySize: 12, embeddingWidth: 6,
        transformer: TransformerConfig(layers: 2, width: 8, heads: 2, keyDepth: 8, valueDepth: 8, filterSize: 16),
        labelSmoothing: 0, pointerGenerator: true))
    let batch = Seq2SeqBatch(sources: [[4, 5, 6, 7], [8, 9]], responses: [[10, 11, 4], [9]])

    func testWholeModelGradientCheck() {
        let parameters = model.initialParameters(seed: 3)
        XCTAssertNotNil(parameters["pointer.gate.weight"])
        let result = checkGradients(parameters: parameters, perTensor: 3) { g in model.loss(g, batch) }
        XCTAssertLessThan(result.worstRelativeError, 1e-2, result.description)
        XCTAssertGreaterThan(result.checkedElements, parameters.count * 2)
    }

    /// Perplexity's NLL is the training loss times the token count, and decoding reads the same distribution.
    func testNegativeLogLikelihoodAndDecodingUseTheMixture() {
        let parameters = model.initialParameters(seed: 4)
        let (total, count) = model.negativeLogLikelihood(parameters: parameters, batch: batch)
        let mean = model.loss(Graph(parameters: parameters, trainable: false), batch).value.scalar
        XCTAssertEqual(count, 6)
        assertClose(Float(total / Double(count)), mean, absolute: 1e-5)
        // Greedy decoding scores its tokens with the same mixture as teacher forcing does.
        let options = DecodingOptions(maxLength: 4, minLength: 4)
        let source = [4, 5, 6, 7]
        let greedy = model.generate(parameters: parameters, source: source, strategy: .greedy, options: options)[0]
        XCTAssertEqual(greedy.tokens.count, 4)
        let forced = Seq2SeqBatch(sources: [source], responses: [greedy.tokens])
        let g = Graph(parameters: parameters, trainable: false)
        let memory = model.encode(g, forced)
        var none: KeyValueCache? = nil
        let h = model.decoded(g, targetIDs: forced.targetInput, batchSize: 1, memory: memory, sourcePadding: forced.sourcePadding, cache: &none)
        let copy = model.copyParts(g, h, memory: memory)
        let logP = pointerGeneratorLogProbabilities(
            vocabularyLogits: model.vocabularyLogits(g, h).value.reshaped([-1, 12]), copyScores: copy.scores.value, gate: copy.gate.value,
            source: CopySource(ids: forced.sourceIDs, padding: forced.sourcePadding, length: forced.sourceLength, rowsPerItem: 5))
        let teacher = greedy.tokens.enumerated().reduce(Float(0)) { $0 + logP.scalars[$1.offset * 12 + $1.element] }
        assertClose(greedy.logProbability, teacher, absolute: 1e-4)
    }

    /// A pointer-generator learns to copy words it cannot produce from the vocabulary side: with the output layer
    /// frozen at zero, only copying can put mass on the source words.
    func testCopiesThroughThePointer() {
        var parameters = model.initialParameters(seed: 5)
        var rng = SeededGenerator(seed: 6)
        var optimizer = Adam(learningRate: 0.02)
        let examples: [[Int]] = (0..<16).map { _ in (0..<3).map { _ in 4 + Int(rng.next() % 8) } }
        for _ in 0..<250 {
            let batch = Seq2SeqBatch(sources: examples, responses: examples)
            var (_, gradients) = valueAndGradient(at: parameters) { g in model.loss(g, batch) }
            gradients["outputProjection.weight"] = Tensor(zeros: parameters.require("outputProjection.weight").shape)
            optimizer.update(&parameters, gradients: gradients)
            parameters["outputProjection.weight"] = Tensor(zeros: parameters.require("outputProjection.weight").shape)
        }
        let options = DecodingOptions(maxLength: 3, minLength: 3)
        var copied = 0
        for source in examples.prefix(8) {
            let out = model.generate(parameters: parameters, source: source, strategy: .greedy, options: options)[0].tokens
            if out == source { copied += 1 }
        }
        XCTAssertGreaterThanOrEqual(copied, 6, "the pointer did not learn to copy")
    }

    func testOldConfigsReadWithoutThePointer() throws {
        let plain = Seq2SeqConfig(vocabularySize: 12, embeddingWidth: 6)
        let json = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        XCTAssertFalse(json.contains("pointerGenerator"), "configs without the pointer are written as before")
        XCTAssertEqual(try JSONDecoder().decode(Seq2SeqConfig.self, from: Data(json.utf8)), plain)
        XCTAssertEqual(try JSONDecoder().decode(Seq2SeqConfig.self, from: try JSONEncoder().encode(model.config)), model.config)
        var smoothed = model.config
        smoothed.labelSmoothing = 0.1
        XCTAssertThrowsError(try smoothed.validate())
    }
}

final class DecodingOptionsTests: XCTestCase {
    func testRepeatingTokensBlockEveryNGramSeenBefore() {
        let trigram = DecodingOptions(blockRepeatedNGram: 3)
        // "i like dogs and i like" -> "dogs" would repeat "i like dogs".
        XCTAssertEqual(trigram.repeatingTokens(after: [4, 5, 6, 7, 4, 5]), [6])
        XCTAssertEqual(trigram.repeatingTokens(after: [4, 5, 4, 5]), [4])
        XCTAssertEqual(trigram.repeatingTokens(after: [4, 5]), [])
        XCTAssertEqual(DecodingOptions(blockRepeatedNGram: 1).repeatingTokens(after: [4, 5, 4]), [4, 5])
        XCTAssertEqual(DecodingOptions().repeatingTokens(after: [4, 4, 4]), [])
    }

    /// Banned tokens and blocked trigrams never come out of any decoder.
    func testDecodersHonourBansAndBlocking() {
        let model = Seq2Seq(config: Seq2SeqConfig(
            vocabularySize: 12, embeddingWidth: 6,
            transformer: TransformerConfig(layers: 1, width: 8, heads: 2, keyDepth: 8, valueDepth: 8, filterSize: 16)))
        let parameters = model.initialParameters(seed: 9)
        let options = DecodingOptions(maxLength: 12, minLength: 12, bannedTokens: [5, 6], blockRepeatedNGram: 2)
        for strategy in [DecodingStrategy.greedy, .beam(size: 3), .topK(k: 4, temperature: 1)] {
            for hypothesis in model.generate(parameters: parameters, source: [4, 7, 8], strategy: strategy, options: options) {
                let tokens = hypothesis.tokens
                XCTAssertFalse(tokens.contains(5) || tokens.contains(6), "\(strategy): \(tokens)")
                let bigrams = zip(tokens, tokens.dropFirst()).map { "\($0.0) \($0.1)" }
                XCTAssertEqual(Set(bigrams).count, bigrams.count, "\(strategy): a repeated bigram in \(tokens)")
            }
        }
    }

    /// Required tokens come out exactly once from every decoder, even when the steps are barely enough, and
    /// no token repeats immediately when that is banned.
    func testRequiredTokensExactlyOnce() {
        let model = Seq2Seq(config: Seq2SeqConfig(
            vocabularySize: 12, embeddingWidth: 6,
            transformer: TransformerConfig(layers: 1, width: 8, heads: 2, keyDepth: 8, valueDepth: 8, filterSize: 16)))
        for seed in 0..<5 {
            let parameters = model.initialParameters(seed: UInt64(10 + seed))
            for maxLength in [2, 3, 8] {
                let options = DecodingOptions(maxLength: maxLength, minLength: 0, seed: UInt64(seed), requiredOnce: [5, 7],
                                              banImmediateRepeats: true)
                for strategy in [DecodingStrategy.greedy, .beam(size: 3), .topK(k: 5, temperature: 1)] {
                    for hypothesis in model.generate(parameters: parameters, source: [4, 8], strategy: strategy, options: options) {
                        let t = hypothesis.tokens
                        XCTAssertEqual(t.filter { $0 == 5 }.count, 1, "\(strategy) max \(maxLength): \(t)")
                        XCTAssertEqual(t.filter { $0 == 7 }.count, 1, "\(strategy) max \(maxLength): \(t)")
                        XCTAssertFalse(zip(t, t.dropFirst()).contains { $0 == $1 }, "\(strategy): a stutter in \(t)")
                        XCTAssertTrue(hypothesis.logProbability.isFinite)
                    }
                }
            }
        }
    }
}
