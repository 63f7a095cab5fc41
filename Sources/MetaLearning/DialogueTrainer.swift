import Autograd
import Dialogue
import Foundation
import Metrics
import NN
import Tensor
import Text

// Training and evaluation of the dialogue models of PAML's Table 1 (Madotto et al. 2019):
//   Dialogue           history -> response, trained on all meta-train dialogues;
//   Dialogue+Persona   persona sentences + history -> response (the upper bound: it sees the persona);
//   Dialogue+FT        the Dialogue model fine-tuned on k dialogues of each test persona;
//   PAML               the Dialogue architecture meta-trained with MAML over personas, then fine-tuned
//                      on k dialogues the same way.
// The k-shot protocol (sec. 4): for each test persona and each of its dialogues, adapt on k of the
// others, evaluate on the held-out one. Perplexity sums NLL and tokens over everything, divides once.

/// Why a training or adaptation run stopped early.
public enum TrainingError: Error, CustomStringConvertible {
    /// The loss (or a gradient, or the weights) stopped being finite at `step`; nothing was saved from that step on.
    case nonFinite(what: String, step: Int, hint: String)

    public var description: String {
        switch self {
        case let .nonFinite(what, step, hint):
            return "\(what) became non-finite at step \(step); stopped without saving it (\(hint))"
        }
    }
}

/// Options of a training run (supervised or meta).
public struct TrainingOptions: Sendable {
    public var steps: Int
    public var batchSize: Int
    public var learningRate: Float
    public var seed: UInt64
    /// Validate (and keep the best checkpoint) every this many steps.
    public var validateEvery: Int
    /// Save a resumable checkpoint every this many steps (and at the end).
    public var checkpointEvery: Int
    /// Folder of the resumable checkpoint; the best-on-validation model goes to `<folder>/best`.
    public var checkpointFolder: URL?
    /// Global-norm gradient clip (PAML: 2.0).
    public var gradientClip: Float
    /// Supervised validation scores the first this many meta-valid examples (a fixed subset keeps
    /// validation cheap and comparable across steps).
    public var validationExamples: Int
    /// Early stopping: stop after this many validations in a row without a new best (nil: run all steps).
    public var patience: Int?

    public init(steps: Int, batchSize: Int = 32, learningRate: Float = 1e-3, seed: UInt64 = 0, validateEvery: Int = 200,
                checkpointEvery: Int = 200, checkpointFolder: URL? = nil, gradientClip: Float = 2.0,
                validationExamples: Int = 2000) {
        self.validationExamples = validationExamples
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.validateEvery = validateEvery
        self.checkpointEvery = checkpointEvery
        self.checkpointFolder = checkpointFolder
        self.gradientClip = gradientClip
    }
}

extension TrainingOptions: ValidatedConfig {
    public func validate() throws {
        try Check.within(steps, 1...100_000_000, "steps")
        try Check.within(batchSize, 1...65_536, "batchSize")
        try Check.positive(learningRate, "learningRate", upTo: 10)
        try Check.atLeast(validateEvery, 1, "validateEvery")
        try Check.atLeast(checkpointEvery, 1, "checkpointEvery")
        try Check.finite(gradientClip, "gradientClip", from: 0)
        try Check.atLeast(validationExamples, 1, "validationExamples")
        if let patience { try Check.atLeast(patience, 1, "patience") }
    }
}

/// A resumable training state as stored in a checkpoint's metadata.
struct TrainingProgress {
    var step: Int
    var bestValidation: Double
    /// Validations in a row without a new best (for early stopping).
    var staleValidations = 0
    /// Every validation so far as (step, value), for learning curves; kept across resumes.
    var history: [(step: Int, value: Double)] = []

    var metadata: [String: String] {
        ["paml.step": "\(step)", "paml.bestValidation": "\(bestValidation)", "paml.staleValidations": "\(staleValidations)",
         "paml.validationHistory": history.map { "\($0.step):\(String(format: "%.4f", $0.value))" }.joined(separator: " ")]
    }

    static func parseHistory(_ text: String?) -> [(step: Int, value: Double)] { ValidationHistory.parse(text) }

    /// Whether early stopping ends the run now.
    func patienceExhausted(_ options: TrainingOptions) -> Bool {
        options.patience.map { staleValidations >= $0 } ?? false
    }

    /// The run settings saved beside the progress, so that a resumed run can say what changed.
    static func settings(_ options: TrainingOptions) -> [String: String] {
        ["paml.learningRate": "\(options.learningRate)", "paml.batchSize": "\(options.batchSize)",
         "paml.seed": "\(options.seed)", "paml.gradientClip": "\(options.gradientClip)"]
    }

    /// "learningRate 0.001 (was 0.01)" for each saved setting that differs from `now`.
    static func changedSettings(saved: [String: String], now: TrainingOptions) -> [String] {
        let current = settings(now)
        return current.keys.sorted().compactMap { key in
            guard let old = saved[key], let new = current[key], old != new else { return nil }
            return "\(key.dropFirst(5)) \(new) (was \(old))"
        }
    }

    init(step: Int = 0, bestValidation: Double = .infinity) {
        self.step = step
        self.bestValidation = bestValidation
    }

    init(metadata: [String: String]) {
        step = metadata["paml.step"].flatMap(Int.init) ?? 0
        bestValidation = metadata["paml.bestValidation"].flatMap(Double.init) ?? .infinity
        staleValidations = metadata["paml.staleValidations"].flatMap(Int.init) ?? 0
        history = Self.parseHistory(metadata["paml.validationHistory"])
    }
}

/// The validation history a training checkpoint keeps in its metadata ("paml.validationHistory").
public enum ValidationHistory {
    /// "1000:18.1800 2000:12.3900" -> pairs (unreadable entries are skipped: the history is for plots only).
    public static func parse(_ text: String?) -> [(step: Int, value: Double)] {
        (text ?? "").split(separator: " ").compactMap { entry in
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let step = Int(parts[0]), let value = Double(parts[1]) else { return nil }
            return (step, value)
        }
    }
}

/// Trains Dialogue / Dialogue+Persona / PAML models with checkpoints that resume where they stopped.
public struct DialogueTrainer {
    public let config: DialogueModelConfig
    public let corpus: PersonaCorpus
    public var model: Seq2Seq { Seq2Seq(config: config.model) }

    public init(config: DialogueModelConfig, corpus: PersonaCorpus) {
        self.config = config
        self.corpus = corpus
    }

    public struct SetupError: Error, CustomStringConvertible {
        public var description: String
    }

    /// A trainer for `system` on the meta-dataset and its initial weights: those of `start` (a trained checkpoint,
    /// e.g. PAML from the Dialogue model; its vocabulary and sizes), else a fresh model of `model(vocabulary size)`
    /// with GloVe-initialised embeddings over the meta-train vocabulary (words seen `minCount` times). PAML trains
    /// with plain NLL (label smoothing 0), as the release's meta-loss.
    public static func prepare(system: DialogueSystem, dataset: PersonaMetaDataset, dataSeed: UInt64, model: (Int) -> Seq2SeqConfig,
                               minCount: Int, start: DialogueCheckpoint?, glove: URL, seed: UInt64,
                               log: (String) -> Void) throws -> (trainer: DialogueTrainer, initial: Parameters) {
        let vocabulary = start?.vocabulary ?? buildVocabulary(dataset, minCount: minCount)
        // A vocabulary of a handful of words makes perplexity meaningless (and excellent-looking).
        let words = vocabulary.count - Vocabulary.specials.count
        guard start != nil || words >= 100 else {
            throw SetupError(description: "--min-count \(minCount) leaves \(words) words in the vocabulary (at least 100 needed); lower it")
        }
        var modelConfig = start?.config.model ?? model(vocabulary.count)
        if system == .paml { modelConfig.labelSmoothing = 0 }
        let format = DialogueFormat(includesPersona: system == .dialoguePersona)
        let config = DialogueModelConfig(system: system, model: modelConfig, format: format, dataSeed: dataSeed)
        let trainer = DialogueTrainer(config: config, corpus: PersonaCorpus(dataset: dataset, encoder: ExampleEncoder(vocabulary: vocabulary, format: format)))
        if let start {
            log("initialised from \(start.folder?.path ?? "a checkpoint") (\(start.config.system.rawValue))")
            return (trainer, start.parameters)
        }
        let (matrix, coverage) = try GloVe.load(directory: glove).embeddingMatrix(for: vocabulary, seed: seed)
        log(String(format: "vocabulary %d words, GloVe covers %.1f%% of types", vocabulary.count, coverage.typeFraction * 100))
        return (trainer, trainer.model.initialParameters(seed: seed, pretrained: matrix))
    }

    /// Saves weights, config, vocabulary and (optionally) optimizer state into `folder`.
    public func save(_ parameters: Parameters, to folder: URL, optimizer: OptimizerState? = nil,
                     metadata: [String: String] = [:]) throws {
        try DialogueCheckpoint(config: config, parameters: parameters, vocabulary: corpus.encoder.vocabulary,
                               metadata: metadata, optimizer: optimizer).save(to: folder)
    }

    /// Continues from the resumable checkpoint in `options.checkpointFolder` when there is one with the
    /// same config: replaces `parameters` and the optimizer state, and returns the saved progress.
    func resume(_ parameters: inout Parameters, _ optimizer: inout Adam, options: TrainingOptions) throws -> TrainingProgress {
        guard let folder = options.checkpointFolder, DialogueCheckpoint.exists(in: folder) else {
            return TrainingProgress()
        }
        let checkpoint = try DialogueCheckpoint(folder: folder)
        guard checkpoint.config == config else {
            throw CheckpointError.badConfig(file: folder.appendingPathComponent("config.json"),
                                            reason: "it was trained with another configuration; use a fresh --out folder")
        }
        guard checkpoint.optimizer != nil else {
            throw CheckpointError.badConfig(file: folder.appendingPathComponent("config.json"),
                                            reason: "holds a model without training state (not a run to resume); use a fresh --out folder")
        }
        parameters = checkpoint.parameters
        if let state = checkpoint.optimizer { try optimizer.restore(state) }
        let progress = TrainingProgress(metadata: checkpoint.metadata)
        print("resumed from \(folder.path) at step \(progress.step)")
        for warning in TrainingProgress.changedSettings(saved: checkpoint.metadata, now: options) {
            print("warning: resuming with \(warning)")
        }
        return progress
    }

    /// After a step: keeps the best model on validation (`<folder>/best`) and saves the resumable state
    /// when due. Returns the text for the progress line.
    func bookkeeping(_ parameters: Parameters, _ optimizer: Adam, _ progress: inout TrainingProgress,
                     options: TrainingOptions, validation: (name: String, value: Double)?) throws -> String {
        var extra = ""
        if let (name, value) = validation {
            progress.history.append((progress.step, value))
            extra = "\(name) " + String(format: "%.2f", value)
            if value < progress.bestValidation {
                progress.bestValidation = value
                progress.staleValidations = 0
                if let folder = options.checkpointFolder {
                    try save(parameters, to: folder.appendingPathComponent("best"),
                             metadata: [name: String(format: "%.4f", value), "step": "\(progress.step)"])
                    extra += " (best, saved)"
                }
            } else {
                progress.staleValidations += 1
                if let patience = options.patience { extra += " (no gain \(progress.staleValidations)/\(patience))" }
            }
        }
        if let folder = options.checkpointFolder,
           progress.step % options.checkpointEvery == 0 || progress.step == options.steps || progress.patienceExhausted(options) {
            try save(parameters, to: folder, optimizer: optimizer.state,
                     metadata: progress.metadata.merging(TrainingProgress.settings(options)) { a, _ in a })
        }
        return extra
    }

    /// Supervised training on every meta-train example (the Dialogue and Dialogue+Persona systems).
    /// Validation: perplexity on the meta-valid personas' examples.
    public func trainSupervised(initial: Parameters, options: TrainingOptions) throws -> Parameters {
        var parameters = initial
        var optimizer = Adam(learningRate: options.learningRate)
        var progress = try resume(&parameters, &optimizer, options: options)
        let trainExamples = corpus.examples(in: .train)
        let validBatches = makeBatches(Array(corpus.examples(in: .valid).prefix(options.validationExamples)),
                                       batchSize: 64, shuffleSeed: nil)
        let epochBatches = (trainExamples.count + options.batchSize - 1) / options.batchSize
        var epochCache: (epoch: Int, batches: [Seq2SeqBatch]) = (-1, [])
        var reporter = ProgressReporter(label: config.system.rawValue, total: options.steps, startStep: progress.step)
        print("training \(config.system.rawValue): \(trainExamples.count) examples, \(epochBatches) batches per epoch, "
              + "\(parameters.scalarCount) parameters")
        while progress.step < options.steps && !progress.patienceExhausted(options) {
            let epoch = progress.step / epochBatches
            if epochCache.epoch != epoch {
                epochCache = (epoch, makeBatches(trainExamples, batchSize: options.batchSize,
                                                 shuffleSeed: options.seed &+ UInt64(epoch)))
            }
            let batch = epochCache.batches[progress.step % epochBatches]
            var (loss, gradients) = model.lossAndGradient(at: parameters, batch: batch, training: true,
                                                          seed: options.seed &+ UInt64(progress.step))
            guard loss.isFinite else {
                throw TrainingError.nonFinite(what: "the training loss", step: progress.step + 1,
                                              hint: "lower --learning-rate; the last saved checkpoint is intact")
            }
            gradients.clipGlobalNorm(options.gradientClip)
            optimizer.update(&parameters, gradients: gradients)
            progress.step += 1
            let due = progress.step % options.validateEvery == 0 || progress.step == options.steps
            let validation = due ? ("validPerplexity", perplexity(model, parameters, batches: validBatches).ppl) : nil
            let extra = try bookkeeping(parameters, optimizer, &progress, options: options, validation: validation)
            reporter.update(step: progress.step, loss: loss, work: Double(batch.targetTokenCount), extra: extra)
        }
        if progress.patienceExhausted(options) {
            print("early stop at step \(progress.step): \(options.patience!) validations without a new best (best \(String(format: "%.4f", progress.bestValidation)))")
        }
        return parameters
    }

    /// Meta-training with MAML over meta-train personas (PAML). Each meta-iteration samples
    /// `maml.metaBatchSize` personas; a persona's shuffled dialogues are split into support (inner SGD:
    /// the first `supportDialogues`, or half when nil) and query (meta-loss: the next `queryDialogues`, or all the
    /// rest when nil; the release uses 1 support and 1 query dialogue). Validation: k-shot
    /// adapted perplexity on meta-valid personas for each k of `validation.shots`; the best checkpoint is
    /// the one with the lowest geometric mean over those k.
    public func trainPAML(initial: Parameters, maml mamlConfig: MAMLConfig, options: TrainingOptions,
                          validation: KShotProtocol, supportDialogues: Int? = nil, queryDialogues: Int? = nil) throws -> Parameters {
        var parameters = initial
        var optimizer = Adam(learningRate: mamlConfig.outerLearningRate)
        var progress = try resume(&parameters, &optimizer, options: options)
        let maml = MAML<Seq2SeqBatch>(config: mamlConfig) { [model] g, batch in model.loss(g, batch) }
        let personas = (corpus.personas[.train] ?? []).filter { $0.dialogues.count >= 2 }
        guard !personas.isEmpty else {
            throw ConfigError(field: "meta-train personas", value: "none with two or more dialogues", allowed: "at least one persona with two dialogues")
        }
        var reporter = ProgressReporter(label: "paml", total: options.steps, startStep: progress.step)
        print("meta-training PAML (\(mamlConfig.metaGradient.rawValue)): \(personas.count) personas, "
              + "meta-batch \(mamlConfig.metaBatchSize), \(parameters.scalarCount) parameters")
        while progress.step < options.steps && !progress.patienceExhausted(options) {
            var rng = SeededGenerator(seed: options.seed &+ UInt64(progress.step) &* 1_000_003)
            let chosen = (0..<mamlConfig.metaBatchSize).map { _ in personas[Int(rng.next() % UInt64(personas.count))] }
            let tasks = chosen.map { persona -> MetaTask<Seq2SeqBatch> in
                let dialogues = persona.dialogues.shuffled(using: &rng)
                let supportCount = min(dialogues.count - 1, max(1, supportDialogues ?? dialogues.count / 2))
                func batch(_ sides: ArraySlice<[EncodedExample]>) -> Seq2SeqBatch {
                    let examples = Array(sides.joined().shuffled(using: &rng).prefix(options.batchSize))
                    return Seq2SeqBatch(sources: examples.map(\.source), responses: examples.map(\.response))
                }
                let queryEnd = min(dialogues.count, supportCount + max(1, queryDialogues ?? dialogues.count))
                return MetaTask(support: [batch(dialogues[..<supportCount])], query: [batch(dialogues[supportCount..<queryEnd])])
            }
            let outcomes = maml.metaStep(&parameters, tasks: tasks, optimizer: &optimizer,
                                         seed: options.seed &+ UInt64(progress.step))
            progress.step += 1
            let meanQuery = outcomes.map(\.queryLossAfter).reduce(0, +) / Float(outcomes.count)
            guard meanQuery.isFinite, parameters.allFinite else {
                throw TrainingError.nonFinite(what: "the meta-training query loss or weights", step: progress.step,
                                              hint: "lower --inner-learning-rate or --outer-learning-rate; the last saved checkpoint is intact")
            }
            let tokens = tasks.reduce(0) { $0 + $1.support[0].targetTokenCount + $1.query[0].targetTokenCount }
            let due = progress.step % options.validateEvery == 0 || progress.step == options.steps
            var score: (name: String, value: Double)?
            if due {
                let results = try validation.shots.map {
                    try validation.evaluate(model: model, parameters: parameters, personas: corpus.personas[.valid] ?? [], k: $0)
                }
                let shown = results.map { "k=\($0.k) " + String(format: "%.2f", $0.perplexity) }.joined(separator: ", ")
                print("  meta-valid adapted perplexity: \(shown)")
                let meanLog = results.map { log($0.perplexity) }.reduce(0, +) / Double(results.count)
                let ks = validation.shots.map(String.init).joined(separator: "+")
                score = ("validAdapted\(ks)ShotPerplexity", exp(meanLog))
            }
            let extra = try bookkeeping(parameters, optimizer, &progress, options: options, validation: score)
            reporter.update(step: progress.step, loss: meanQuery, work: Double(tokens), extra: extra)
        }
        return parameters
    }
}

