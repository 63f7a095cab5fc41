import ArgumentParser
import Autograd
import Dialogue
import Foundation
import MetaLearning
import NN
import Tensor
import Text

/// Options that fix the persona meta-dataset (shared by training and experiments).
struct PersonaDataOptions: ParsableArguments {
    @OptionGroup var data: DataOptions

    @Option(help: "Seed of the persona split and of the dialogue order within each persona.")
    var dataSeed: UInt64 = 0

    func load() throws -> PersonaMetaDataset {
        try PersonaMetaDataset.load(root: data.corpusRoot, seed: dataSeed).dataset
    }
}

/// `paml train`: trains one of the paper's dialogue systems, resumably.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a dialogue model: dialogue, dialogue-persona, or paml (MAML over personas).",
        discussion: """
        Progress is printed as step | loss | tokens/s | ETA. The run saves a resumable checkpoint in --out every \
        --checkpoint-every steps; rerunning the same command continues from it. The model with the best validation \
        perplexity is kept in --out/best.
        """
    )

    @OptionGroup var personaData: PersonaDataOptions

    @Option(help: "System: dialogue, dialogue-persona, paml.")
    var system: DialogueSystem = .dialogue

    @Option(help: "Run folder (default runs/<system>); rerunning resumes from it when it holds a run of the same configuration.")
    var out: String?
    @OptionGroup var output: OutputOptions

    @Option(help: "Start from this checkpoint's weights (e.g. PAML from a pre-trained dialogue model).")
    var initFrom: String?

    @Option(help: "Training steps (meta-iterations for paml).") var steps = 2000
    @Option(help: "Examples per batch (per support/query set for paml).") var batchSize = 32
    @Option(help: "Adam learning rate (supervised systems).") var learningRate: Float = 1e-3
    @Option(help: "Training seed.") var seed: UInt64 = 1
    @Option(help: "Validate every this many steps.") var validateEvery = 200
    @Option(help: "Save a resumable checkpoint every this many steps.") var checkpointEvery = 100
    @Option(help: "Meta-valid examples scored at each supervised validation.") var validationExamples = 2000
    @Option(help: "Early stopping: stop after this many validations in a row without a new best (default: run all --steps).")
    var patience: Int?

    @Option(help: "Transformer layers (PAML: 6).") var layers = 6
    @Option(help: "Model width (PAML: 300).") var width = 300
    @Option(help: "Attention heads (PAML: 4).") var heads = 4
    @Option(help: "Total key/value depth (PAML: 40).") var keyDepth = 40
    @Option(help: "Feed-forward width (PAML: 50).") var filterSize = 50
    @Option(help: "Dropout on sub-layer outputs.") var dropout: Float = 0.1
    @Option(help: "Label smoothing (supervised systems).") var labelSmoothing: Float = 0.1
    @Flag(help: "Pointer-generator output: copy words from the source (the release's pointer_gen; needs --label-smoothing 0).")
    var pointerGenerator = false
    @Option(help: "Least count of a word to enter the vocabulary.") var minCount = 2

    @Option(help: "PAML inner SGD learning rate alpha.") var innerLearningRate: Float = 0.01
    @Option(help: "PAML outer Adam learning rate beta.") var outerLearningRate: Float = 0.0003
    @Option(help: "PAML personas per meta-batch.") var metaBatchSize = 16
    @Option(help: "PAML meta-gradient: first-order, second-order, reptile.") var metaGradient: MetaGradient = .firstOrder
    @Option(help: "PAML validation: meta-valid personas adapted on k dialogues.") var validationPersonas = 10
    @Option(parsing: .upToNextOption, help: "PAML validation: the k of the k-shot perplexities whose geometric mean picks the best checkpoint.")
    var validationShots: [Int] = [3]
    @Option(help: "PAML inner SGD steps (validation adapts with as many passes).") var innerSteps = 1
    @Option(help: "PAML global-norm clip of each inner-step gradient (0: none, as the original release).")
    var innerGradientClip: Float = 0
    @Option(help: "PAML support dialogues per persona and meta-task (default: half of the persona's dialogues).")
    var supportDialogues: Int?
    @Option(help: "PAML query dialogues per persona and meta-task (default: all the others; the release uses 1).")
    var queryDialogues: Int?

    var outFolder: String { out ?? "runs/\(system.rawValue)" }

    /// The model and run settings as the library's configs, which check their own ranges.
    func modelConfig(vocabularySize: Int) -> Seq2SeqConfig {
        Seq2SeqConfig(
            vocabularySize: vocabularySize, embeddingWidth: 50,
            transformer: TransformerConfig(layers: layers, width: width, heads: heads, keyDepth: keyDepth,
                                           valueDepth: keyDepth, filterSize: filterSize, inputDropout: dropout,
                                           layerDropout: dropout, attentionDropout: 0, reluDropout: dropout),
            labelSmoothing: labelSmoothing, pointerGenerator: pointerGenerator)
    }

    var trainingOptions: TrainingOptions {
        var options = TrainingOptions(steps: steps, batchSize: batchSize, learningRate: learningRate, seed: seed,
                                      validateEvery: validateEvery, checkpointEvery: checkpointEvery,
                                      checkpointFolder: URL(fileURLWithPath: outFolder), validationExamples: validationExamples)
        options.patience = patience
        return options
    }

    func validate() throws {
        _ = try output.writable(outFolder)
        let names = ["layers": "--layers", "width": "--width", "heads": "--heads", "keyDepth": "--key-depth",
                     "valueDepth": "--key-depth", "filterSize": "--filter-size", "inputDropout": "--dropout",
                     "layerDropout": "--dropout", "reluDropout": "--dropout", "labelSmoothing": "--label-smoothing",
                     "steps": "--steps", "batchSize": "--batch-size", "learningRate": "--learning-rate",
                     "validateEvery": "--validate-every", "checkpointEvery": "--checkpoint-every",
                     "validationExamples": "--validation-examples", "patience": "--patience"]
        do {
            if initFrom == nil { try modelConfig(vocabularySize: 1000).validate() }
            try trainingOptions.validate()
        } catch let error as ConfigError {
            let field = String(error.field.split(separator: ".").last ?? "")
            throw ValidationError("\(names[field] ?? error.field) \(error.value): must be \(error.allowed)")
        }
        try OptionCheck.within(minCount, 1...1_000_000_000, "--min-count")
        try OptionCheck.positive(innerLearningRate, "--inner-learning-rate", upTo: 10)
        try OptionCheck.positive(outerLearningRate, "--outer-learning-rate", upTo: 10)
        try OptionCheck.within(metaBatchSize, 1...1024, "--meta-batch-size")
        try OptionCheck.atLeast(validationPersonas, 1, "--validation-personas")
        try OptionCheck.finite(innerGradientClip, "--inner-gradient-clip", from: 0)
        if metaGradient == .secondOrder && innerGradientClip > 0 {
            throw ValidationError("--inner-gradient-clip works with first-order and reptile; second-order differentiates unclipped steps")
        }
        try OptionCheck.within(innerSteps, 1...100, "--inner-steps")
        if let supportDialogues { try OptionCheck.within(supportDialogues, 1...1000, "--support-dialogues") }
        if let queryDialogues { try OptionCheck.within(queryDialogues, 1...1000, "--query-dialogues") }
        if validationShots.isEmpty || validationShots.contains(where: { !(0...1000).contains($0) }) {
            throw ValidationError("--validation-shots needs one or more k in 0...1000")
        }
    }

    func run() throws {
        let lock = try FolderLock(URL(fileURLWithPath: outFolder))
        defer { withExtendedLifetime(lock) {} }
        let dataset = try personaData.load()
        let start = try initFrom.map { try DialogueCheckpoint(folder: resolvedInput($0)) }
        let (trainer, initial) = try DialogueTrainer.prepare(
            system: system, dataset: dataset, dataSeed: personaData.dataSeed, model: modelConfig(vocabularySize:), minCount: minCount,
            start: start, glove: personaData.data.corpusRoot.file("glove"), seed: seed, log: { print($0) })
        let options = trainingOptions
        switch system {
        case .dialogue, .dialoguePersona:
            _ = try trainer.trainSupervised(initial: initial, options: options)
        case .paml:
            var maml = MAMLConfig()
            maml.innerLearningRate = innerLearningRate
            maml.outerLearningRate = outerLearningRate
            maml.metaBatchSize = metaBatchSize
            maml.metaGradient = metaGradient
            maml.innerSteps = innerSteps
            maml.innerGradientClip = innerGradientClip
            let validation = KShotProtocol(shots: validationShots, steps: innerSteps, learningRate: innerLearningRate,
                                           batchSize: batchSize, gradientClip: innerGradientClip,
                                           maxPersonas: validationPersonas, heldOutPerPersona: 2)
            _ = try trainer.trainPAML(initial: initial, maml: maml, options: options, validation: validation,
                                      supportDialogues: supportDialogues, queryDialogues: queryDialogues)
        }
        print("saved \(outFolder) (resumable) and \(outFolder)/best (best validation)")
    }
}

extension DialogueSystem: ExpressibleByArgument {}
extension MetaGradient: ExpressibleByArgument {}
