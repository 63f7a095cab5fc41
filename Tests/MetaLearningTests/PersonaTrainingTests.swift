import XCTest
import Autograd
import Dialogue
import Foundation
@testable import MetaLearning
import NN
import Tensor
import Text
import TestSupport

/// Synthetic personas: persona p answers every history with its own fixed 3-token signature, so a few
/// dialogues of a persona tell an adapted model what to say.
final class PersonaTrainingTests: XCTestCase {
    let vocabulary = try! Vocabulary(words: (0..<20).map { "w\($0)" })
    let modelConfig = Seq2SeqConfig(
        vocabularySize: 24, embeddingWidth: 6,
        transformer: TransformerConfig(layers: 1, width: 8, heads: 2, keyDepth: 8, valueDepth: 8, filterSize: 16),
        labelSmoothing: 0)

    func corpus() -> PersonaCorpus {
        var rng = SeededGenerator(seed: 1)
        func persona(_ p: Int) -> EncodedPersona {
            // Persona 3 (valid/test) recombines tokens of the training personas' signatures.
            let signature = p < 3 ? [4 + p, 8 + p, 12 + p] : [4, 9, 14]
            let dialogues = (0..<4).map { _ in
                (0..<3).map { _ in EncodedExample(source: (0..<4).map { _ in 16 + Int(rng.next() % 8) }, response: signature) }
            }
            return EncodedPersona(id: "p\(p)", dialogues: dialogues)
        }
        return PersonaCorpus(encoder: ExampleEncoder(vocabulary: vocabulary, format: DialogueFormat()),
                             personas: [.train: (0..<3).map(persona), .valid: [persona(3)], .test: [persona(3)]])
    }

    func config(_ system: DialogueSystem) -> DialogueModelConfig {
        DialogueModelConfig(system: system, model: modelConfig, format: DialogueFormat(), dataSeed: 0)
    }

    func testZeroShotIsUnadaptedPerplexityAndAdaptationHelps() throws {
        let model = Seq2Seq(config: modelConfig)
        let parameters = model.initialParameters(seed: 2)
        let personas = corpus().personas[.test]!
        var kshot = KShotProtocol(shots: [0, 3], steps: 20, learningRate: 0.1)
        let zero = try kshot.evaluate(model: model, parameters: parameters, personas: personas, k: 0)
        let all = personas[0].dialogues.flatMap { $0 }
        let direct = perplexity(model, parameters, batches: makeBatches(all, batchSize: 64, shuffleSeed: nil))
        assertClose(Float(zero.perplexity), Float(direct.ppl), relative: 1e-4)
        XCTAssertEqual(zero.heldOutDialogues, 4)
        let three = try kshot.evaluate(model: model, parameters: parameters, personas: personas, k: 3)
        XCTAssertLessThan(three.perplexity, zero.perplexity * 0.5, "3-shot adaptation did not help")
        kshot.steps = 0
        let none = try kshot.evaluate(model: model, parameters: parameters, personas: personas, k: 3)
        assertClose(Float(none.perplexity), Float(zero.perplexity), relative: 1e-4)
        XCTAssertEqual(try kshot.evaluate(model: model, parameters: parameters, personas: personas, k: 4).skippedPersonas, 1)
    }

    /// With a gradient clip every adaptation step has length learning rate x clip (the gradients here are
    /// far longer than the clip), so the adapted weights sit exactly steps x that far from the start.
    func testAdaptationGradientClipBoundsEachStep() throws {
        let model = Seq2Seq(config: modelConfig)
        let parameters = model.initialParameters(seed: 2)
        let support = corpus().personas[.test]![0].dialogues[0]   // 3 examples: one batch
        let kshot = KShotProtocol(steps: 2, learningRate: 0.1, gradientClip: 1e-3)
        let adapted = try kshot.adapt(model: model, parameters: parameters, support: support)
        let distance = adapted.adding(parameters, scale: -1).globalNorm()
        assertClose(distance, 2 * 0.1 * 1e-3, relative: 1e-2)
    }

    /// An interrupted run resumed from its checkpoint ends with exactly the weights of an uninterrupted run.
    func testSupervisedTrainingResumesExactly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("paml-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = DialogueTrainer(config: config(.dialogue), corpus: corpus())
        let initial = trainer.model.initialParameters(seed: 3)
        let straight = try trainer.trainSupervised(initial: initial, options: TrainingOptions(steps: 6, batchSize: 4, validateEvery: 100))
        _ = try trainer.trainSupervised(initial: initial, options: TrainingOptions(
            steps: 3, batchSize: 4, validateEvery: 100, checkpointEvery: 3, checkpointFolder: folder))
        let resumed = try trainer.trainSupervised(initial: initial, options: TrainingOptions(
            steps: 6, batchSize: 4, validateEvery: 100, checkpointEvery: 3, checkpointFolder: folder))
        for (name, tensor) in straight {
            XCTAssertEqual(resumed.require(name), tensor, "\(name) differs after resume")
        }
        XCTAssertNotEqual(straight.require("embedding.weight"), initial.require("embedding.weight"))
    }

    /// PAML meta-training on personas whose identity is only visible through their dialogues must make
    /// k-shot adaptation to a new persona (a new combination of known tokens) work better than it did
    /// before meta-training.
    func testPAMLImprovesAdaptedPerplexity() throws {
        let trainer = DialogueTrainer(config: config(.paml), corpus: corpus())
        let initial = trainer.model.initialParameters(seed: 4)
        let kshot = KShotProtocol(shots: [1], steps: 3, learningRate: 0.05)
        var maml = MAMLConfig()
        maml.metaBatchSize = 3
        maml.outerLearningRate = 0.01
        let before = try kshot.evaluate(model: trainer.model, parameters: initial, personas: trainer.corpus.personas[.test]!, k: 1)
        let trained = try trainer.trainPAML(initial: initial, maml: maml,
                                            options: TrainingOptions(steps: 60, batchSize: 8, validateEvery: 1000),
                                            validation: kshot)
        let after = try kshot.evaluate(model: trainer.model, parameters: trained, personas: trainer.corpus.personas[.test]!, k: 1)
        XCTAssertLessThan(after.perplexity, before.perplexity / 2)
    }

    /// The variant the experiment script trains: the inner loop is the k-shot protocol (several clipped
    /// steps on a few support dialogues), the best checkpoint is chosen on 0- and 1-shot perplexity.
    func testPAMLWithProtocolInnerLoopImprovesAdaptedPerplexity() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("paml-protocol-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = DialogueTrainer(config: config(.paml), corpus: corpus())
        let initial = trainer.model.initialParameters(seed: 4)
        var maml = MAMLConfig()
        maml.metaBatchSize = 3
        maml.outerLearningRate = 0.01
        maml.innerLearningRate = 0.05
        maml.innerSteps = 3
        maml.innerGradientClip = 5
        let validation = KShotProtocol(shots: [0, 1], steps: 3, learningRate: 0.05, gradientClip: 5)
        let test = KShotProtocol(shots: [1], steps: 3, learningRate: 0.05, gradientClip: 5)
        let before = try test.evaluate(model: trainer.model, parameters: initial, personas: trainer.corpus.personas[.test]!, k: 1)
        let trained = try trainer.trainPAML(initial: initial, maml: maml,
                                            options: TrainingOptions(steps: 60, batchSize: 8, validateEvery: 20,
                                                                     checkpointEvery: 60, checkpointFolder: folder),
                                            validation: validation, supportDialogues: 1)
        XCTAssertNotEqual(trained.require("embedding.weight"), initial.require("embedding.weight"))
        // The kept model is the best on validation (here the persona is shared with test: in this toy the
        // final weights overfit the three training personas, the kept ones must not).
        let best = try Checkpoint.load(from: folder.appendingPathComponent("best"), as: DialogueModelConfig.self, kind: "dialogue") {
            Seq2Seq(config: $0.model).initialParameters(seed: 0)
        }
        XCTAssertNotNil(best.checkpoint.metadata["validAdapted0+1ShotPerplexity"], "best checkpoint not chosen on the 0+1-shot score")
        let after = try test.evaluate(model: trainer.model, parameters: best.checkpoint.parameters,
                                  personas: trainer.corpus.personas[.test]!, k: 1)
        XCTAssertLessThan(after.perplexity, before.perplexity / 2)
    }

    /// A learning rate far too large makes the loss non-finite: adaptation and training stop with a message
    /// instead of returning weights that answer with empty lines, and no checkpoint of the broken state is saved.
    func testNonFiniteLossStopsAdaptationAndTraining() throws {
        let model = Seq2Seq(config: modelConfig)
        let parameters = model.initialParameters(seed: 2)
        let support = corpus().personas[.test]![0].dialogues.flatMap { $0 }
        XCTAssertThrowsError(try KShotProtocol(steps: 10, learningRate: 1e30).adapt(model: model, parameters: parameters, support: support)) { error in
            guard case TrainingError.nonFinite = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("too large"), "\(error)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("paml-nonfinite-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = DialogueTrainer(config: config(.dialogue), corpus: corpus())
        let options = TrainingOptions(steps: 50, batchSize: 4, learningRate: 1e30, validateEvery: 100, checkpointEvery: 1,
                                      checkpointFolder: folder, gradientClip: 1e30)
        XCTAssertThrowsError(try trainer.trainSupervised(initial: model.initialParameters(seed: 3), options: options)) { error in
            guard case TrainingError.nonFinite = error else { return XCTFail("\(error)") }
        }
        if DialogueCheckpoint.exists(in: folder) {
            XCTAssertTrue(try DialogueCheckpoint(folder: folder).parameters.allFinite, "a saved state is finite by construction")
        }
    }

    func testTrainingOptionsAndProtocolValidate() {
        XCTAssertThrowsError(try TrainingOptions(steps: 0).validate())
        XCTAssertThrowsError(try TrainingOptions(steps: 5, batchSize: 0).validate())
        XCTAssertThrowsError(try TrainingOptions(steps: 5, learningRate: .nan).validate())
        XCTAssertThrowsError(try TrainingOptions(steps: 5, validateEvery: 0).validate())
        XCTAssertNoThrow(try TrainingOptions(steps: 5).validate())
        XCTAssertThrowsError(try KShotProtocol(learningRate: -1).validate())
        XCTAssertThrowsError(try KShotProtocol(shots: [1001]).validate())
        XCTAssertThrowsError(try KShotProtocol(gradientClip: .infinity).validate())
        XCTAssertNoThrow(try KShotProtocol().validate())
    }

    /// A run resumed with another learning rate or batch size says so.
    func testResumeReportsChangedSettings() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("paml-changed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = DialogueTrainer(config: config(.dialogue), corpus: corpus())
        let initial = trainer.model.initialParameters(seed: 3)
        _ = try trainer.trainSupervised(initial: initial, options: TrainingOptions(
            steps: 2, batchSize: 4, validateEvery: 100, checkpointEvery: 2, checkpointFolder: folder))
        let saved = try DialogueCheckpoint(folder: folder).metadata
        let changed = TrainingProgress.changedSettings(saved: saved, now: TrainingOptions(steps: 4, batchSize: 8, learningRate: 0.01))
        XCTAssertEqual(changed, ["batchSize 8 (was 4)", "learningRate 0.01 (was 0.001)"])
        XCTAssertEqual(TrainingProgress.changedSettings(saved: saved, now: TrainingOptions(steps: 4, batchSize: 4)), [])
    }

    /// With patience, a run whose validation stops improving ends early, saves its state there, and a rerun
    /// of the same command does not train further.
    func testPatienceStopsTrainingAndTheStopSurvivesResume() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("paml-patience-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = DialogueTrainer(config: config(.dialogue), corpus: corpus())
        var options = TrainingOptions(steps: 400, batchSize: 4, learningRate: 0.5, validateEvery: 1, checkpointEvery: 50,
                                      checkpointFolder: folder, gradientClip: 100)
        options.patience = 3
        let stopped = try trainer.trainSupervised(initial: trainer.model.initialParameters(seed: 3), options: options)
        let saved = try DialogueCheckpoint(folder: folder)
        let step = try XCTUnwrap(saved.metadata["paml.step"].flatMap(Int.init))
        XCTAssertLessThan(step, 400, "no early stop")
        XCTAssertEqual(saved.metadata["paml.staleValidations"], "3")
        XCTAssertEqual(saved.parameters, stopped, "the state at the stop is what was saved")
        let again = try trainer.trainSupervised(initial: trainer.model.initialParameters(seed: 3), options: options)
        XCTAssertEqual(again, stopped, "a stopped run stays stopped")
        // Every validation is in the learning curve, one per step, the best among them.
        let history = TrainingProgress.parseHistory(saved.metadata["paml.validationHistory"])
        XCTAssertEqual(history.map(\.step), Array(1...step))
        let best = try XCTUnwrap(saved.metadata["paml.bestValidation"].flatMap(Double.init))
        XCTAssertEqual(history.map(\.value).min()!, best, accuracy: 1e-4)
    }

    func testValidationHistoryRoundTrips() {
        var progress = TrainingProgress(step: 2000)
        progress.history = [(1000, 18.18), (2000, 12.39)]
        let restored = TrainingProgress(metadata: progress.metadata)
        XCTAssertEqual(restored.history.map(\.step), [1000, 2000])
        XCTAssertEqual(restored.history.map(\.value), [18.18, 12.39])
        XCTAssertTrue(TrainingProgress.parseHistory(nil).isEmpty)
        XCTAssertEqual(TrainingProgress.parseHistory("5:1.5 junk 7:x 9:2").map(\.step), [5, 9])
    }
}
