import Foundation
import Autograd
import NN
import Tensor
import Text

/// A fine-tuning run of the NLI classifier that resumes the way `DialogueTrainer` does: rerunning it on the
/// same folder continues where it stopped (a folder holding a finished model or other settings is refused or
/// warned about), the state is saved every `saveEvery` steps and at each epoch's end, and the final checkpoint
/// holds the epoch with the best validation accuracy (model choice on validation only; that epoch's tensors wait
/// in "<folder>-best" while training runs).
public struct NLIFineTuning {
    public var pretrained: URL
    public var trainedLayers: Int
    public var options: NLITrainingOptions
    public var train: [NLIPair]
    public var validation: [NLIPair]
    /// Descriptions stored in the checkpoint's metadata.
    public var data: String
    public var split: String
    /// An NLI checkpoint (same trained blocks) whose tensors start the run instead of the pretrained blocks and a
    /// fresh head: continued fine-tuning on new data.
    public var initFrom: URL?

    public init(pretrained: URL, trainedLayers: Int, options: NLITrainingOptions, train: [NLIPair], validation: [NLIPair],
                data: String, split: String) {
        self.pretrained = pretrained
        self.trainedLayers = trainedLayers
        self.options = options
        self.train = train
        self.validation = validation
        self.data = data
        self.split = split
    }

    public struct Result: Sendable {
        public var epoch: Int
        public var validationAccuracy: Double
        public var trainedScalars: Int
    }

    public enum Failure: Error, CustomStringConvertible {
        case finishedModel(URL), nonFiniteLoss(step: Int, folder: URL), noEpoch, badBest(URL)
        public var description: String {
            switch self {
            case let .finishedModel(folder): return "\(folder.path) holds a finished model (no training state); choose another --out"
            case let .nonFiniteLoss(step, folder):
                return "nli: the training loss became non-finite at step \(step); stopped without saving it "
                    + "(lower --encoder-lr / --head-lr; the last saved state in \(folder.path) is intact)"
            case .noEpoch: return "no epoch finished; nothing to save"
            case let .badBest(folder): return "\(folder.path): metadata lacks validationAccuracy or epoch"
            }
        }
    }

    /// Training and validation pairs: SICK train + the first `personaPairs` persona NLI training pairs; SICK
    /// validation + persona NLI validation (model choice sees both). `limit` > 0 keeps the first pairs of each (smoke runs).
    public static func data(sick: (train: [NLIPair], validation: [NLIPair]), persona: PersonaNLIGenerator.Split, personaPairs: Int,
                            limit: Int) -> (train: [NLIPair], validation: [NLIPair], counts: (sick: Int, persona: Int, personaValidation: Int)) {
        func cut<T>(_ items: [T]) -> [T] { limit > 0 ? Array(items.prefix(limit)) : items }
        let (sickTrain, sickValidation) = (cut(sick.train), cut(sick.validation))
        let personaTrain = personaPairs > 0 ? Array(persona.train.prefix(personaPairs).map(\.pair)) : []
        let personaValidation = personaPairs > 0 ? cut(persona.valid.map(\.pair)) : []
        return (sickTrain + personaTrain, sickValidation + personaValidation, (sickTrain.count, personaTrain.count, personaValidation.count))
    }

    public func train(into folder: URL, log: (String) -> Void) throws -> Result {
        let epochs = options.epochs, seed = options.seed
        let tokenizer = try WordPieceTokenizer(vocabularyFile: pretrained.appendingPathComponent("vocab.txt"))
        var (_, parameters) = try BertEncoder.loadPretrained(from: pretrained, prefix: "bert.")
        let config = NLIConfig(bert: try BertConfig(contentsOf: pretrained.appendingPathComponent("config.json")),
                               trainedLayers: trainedLayers)
        let classifier = NLIClassifier(config: config)
        classifier.initializeHead(into: &parameters, seed: seed)
        var lineage = ""
        if let initFrom {
            let start = try Checkpoint.load(from: initFrom, kind: NLIClassifier.checkpointKind, expecting: classifier.trainedShapes())
            for (name, tensor) in start.parameters { parameters[name] = tensor }
            lineage = ", continued from \(initFrom.lastPathComponent) (weights \(start.weightsChecksum ?? "unchecked"))"
            log("nli: starting from \(initFrom.path) (weights \(start.weightsChecksum ?? "unchecked"))")
        }
        let pairs = train

        // Resumes by itself, like `paml train`: a run of the same settings continues; anything else is refused.
        var saved: Checkpoint?
        let settings = "epochs \(epochs), batch \(options.batchSize), encoder lr \(options.encoderLearningRate), head lr \(options.headLearningRate), seed \(seed), trained layers \(trainedLayers)"
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) {
            saved = try Checkpoint.load(from: folder, kind: NLIClassifier.checkpointKind, expecting: classifier.trainedShapes())
            guard saved?.optimizer != nil else { throw Failure.finishedModel(folder) }
            if let earlier = saved?.metadata["options"], earlier != settings {
                log("warning: resuming with \(settings) (was \(earlier))")
            }
        }
        let encodings = classifier.encode(pairs.map { ($0.premise, $0.hypothesis) }, tokenizer: tokenizer)
        let validationEncodings = classifier.encode(validation.map { ($0.premise, $0.hypothesis) }, tokenizer: tokenizer)
        let start = Date()
        var cacheProgress = ProgressReporter(label: "nli cache", total: encodings.count + validationEncodings.count, unit: "pairs")
        var cached = 0
        let states = classifier.frozenStates(encodings, parameters: parameters) {
            cacheProgress.update(step: $0, loss: 0, work: Double($0 - cached))
            cached = $0
        }
        cached = 0
        let validationStates = classifier.frozenStates(validationEncodings, parameters: parameters) {
            cacheProgress.update(step: encodings.count + $0, loss: 0, work: Double($0 - cached))
            cached = $0
        }
        log("nli cache: blocks \(classifier.frozenLayers) of \(pairs.count + validation.count) pairs in \(formatDuration(Date().timeIntervalSince(start)))")

        var trainer = NLITrainer(classifier: classifier, parameters: parameters, encodings: encodings, states: states,
                                 labels: pairs.map(\.label), options: options)
        if let saved {
            try trainer.restore(trained: saved.parameters, optimizer: saved.optimizer!)
            log("nli: resumed at step \(trainer.step)/\(trainer.totalSteps)")
        }

        var metadata = [
            "data": data + lineage,
            "split": split,
            "options": settings,
        ]
        if let earlier = saved?.metadata["validationByEpoch"] { metadata["validationByEpoch"] = earlier }
        func save() throws {
            metadata["steps"] = "\(trainer.step)"
            try Checkpoint.save(parameters: classifier.trainedSubset(trainer.parameters), config: config,
                                kind: NLIClassifier.checkpointKind, to: folder, metadata: metadata,
                                optimizer: trainer.optimizerState)
        }
        // Model choice by validation only: the final checkpoint holds the epoch with the best validation
        // accuracy; that epoch's tensors are kept in a sibling folder "<checkpoint>-best" while training
        // (so a resumed run still knows them) and removed after the final save.
        let bestFolder = folder.deletingLastPathComponent().appendingPathComponent(folder.lastPathComponent + "-best")
        var best: (accuracy: Double, epoch: Int, trained: Parameters)?
        if saved != nil, FileManager.default.fileExists(atPath: bestFolder.appendingPathComponent("config.json").path) {
            let kept = try Checkpoint.load(from: bestFolder, kind: NLIClassifier.checkpointKind, expecting: classifier.trainedShapes())
            guard let accuracy = kept.metadata["validationAccuracy"].flatMap(Double.init),
                  let epoch = kept.metadata["epoch"].flatMap(Int.init) else {
                throw Failure.badBest(bestFolder)
            }
            best = (accuracy, epoch, kept.parameters)
            log("nli: best so far epoch \(epoch), validation accuracy \(String(format: "%.4f", accuracy))")
        }
        var progress = ProgressReporter(label: "nli", total: trainer.totalSteps, unit: "pairs", startStep: trainer.step)
        var lossSum = 0.0, lossCount = 0
        for epoch in 0..<epochs {
            let batches = trainer.batches(epoch: epoch)
            for (i, batch) in batches.enumerated() where epoch * trainer.stepsPerEpoch + i >= trainer.step {
                let loss = trainer.trainStep(batch)
                guard loss.isFinite else { throw Failure.nonFiniteLoss(step: trainer.step, folder: folder) }
                lossSum += Double(loss)
                lossCount += 1
                var extra = ""
                if i == batches.count - 1 {
                    let predicted = classifier.predict(states: validationStates, encodings: validationEncodings,
                                                       parameters: trainer.parameters)
                    let accuracy = NLIAccuracy(gold: validation.map(\.label), predicted: predicted)
                    extra = String(format: "epoch %d | mean loss %.4f | validation accuracy %.4f", epoch + 1,
                                   lossSum / Double(max(lossCount, 1)), accuracy.overall)
                    metadata["validationAccuracy"] = String(format: "%.4f", accuracy.overall)
                    metadata["validationByEpoch", default: ""] += (epoch == 0 ? "" : " ") + String(format: "%.4f", accuracy.overall)
                    lossSum = 0; lossCount = 0
                    if accuracy.overall > best?.accuracy ?? -1 {
                        best = (accuracy.overall, epoch + 1, classifier.trainedSubset(trainer.parameters))
                        var bestMetadata = metadata
                        bestMetadata["epoch"] = "\(epoch + 1)"
                        try Checkpoint.save(parameters: best!.trained, config: config, kind: NLIClassifier.checkpointKind,
                                            to: bestFolder, metadata: bestMetadata)
                    }
                }
                progress.update(step: trainer.step, loss: loss, work: Double(batch.count), extra: extra)
                if trainer.step % options.saveEvery == 0 || i == batches.count - 1 { try save() }
            }
        }
        guard let best else { throw Failure.noEpoch }
        metadata["steps"] = "\(trainer.step)"
        metadata["chosenEpoch"] = "\(best.epoch) of \(epochs) (best validation accuracy)"
        metadata["validationAccuracy"] = String(format: "%.4f", best.accuracy)
        try Checkpoint.save(parameters: best.trained, config: config, kind: NLIClassifier.checkpointKind, to: folder, metadata: metadata)
        try? FileManager.default.removeItem(at: bestFolder)
        return Result(epoch: best.epoch, validationAccuracy: best.accuracy, trainedScalars: best.trained.scalarCount)
    }
}
