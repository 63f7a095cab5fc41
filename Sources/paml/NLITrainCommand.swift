import ArgumentParser
import Foundation
import NLI
import Tensor
import Text

struct NLITrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune the top MiniLM blocks + a head on SICK train (+ persona-map pairs); resumable.",
        discussion: "Rerunning the same command resumes the run in --out (as `paml train` does); a run of other settings there is refused."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SICKSplitOptions
    @Option(name: .long, help: "all-MiniLM-L6-v2 model folder. Default: \(MiniLMLocation.environmentVariable) or the pip package.")
    var minilm: String?
    @Option(name: .long, help: "Run folder: resumable state while training, the best epoch's model at the end.")
    var out = "runs/nli"
    @OptionGroup var output: OutputOptions

    @Option(name: .long, help: "SNLI or MultiNLI JSON-lines file (sentence1, sentence2, gold_label) whose pairs join the training mix.")
    var general: String?
    @Option(name: .long, help: "Pairs drawn (seeded) from --general.")
    var generalPairs = 20_000
    @Option(name: .long, help: "Hand-labelled real training pairs (the format of Corpora/persona-nli-real-train.tsv) that join the training mix.")
    var realTrain: String?
    @Option(name: .long, help: "Times each --real-train pair appears per epoch (weights the small in-domain set against the generated pairs).")
    var realTrainRepeats = 1
    @Flag(name: .long, help: "Add each --real-train contradiction's or entailment's utterance against a persona sentence of another relation, as neutral (topic contrasts).")
    var realTrainContrasts = false
    @Option(name: .long, help: "Start from this NLI checkpoint's tensors (same --trained-layers) instead of the pretrained blocks and a new head.")
    var initFrom: String?
    @Option(name: .long, help: "Top encoder blocks to fine-tune (and save).")
    var trainedLayers = 2
    @OptionGroup var persona: PersonaNLIOptions
    @Option(name: .long, help: "Persona NLI training pairs added to SICK train (balanced; at most this many, 0 = none; see `paml nli data`).")
    var personaPairs = 1000
    @Option(name: .long, help: "Epochs over the training pairs.")
    var epochs = 3
    @Option(name: .long, help: "Pairs per batch.")
    var batchSize = 32
    @Option(name: .long, help: "Peak learning rate of the fine-tuned blocks.")
    var encoderLR: Float = 1e-4
    @Option(name: .long, help: "Peak learning rate of the head.")
    var headLR: Float = 1e-3
    @Option(name: .long, help: "Seed of head initialisation, batch order and dropout.")
    var seed: UInt64 = 1
    @Option(name: .long, help: "Save a resumable checkpoint every N steps.")
    var saveEvery = 200
    @Option(name: .long, help: "Use only the first N SICK train and validation pairs (smoke runs; 0 = all).")
    var limit = 0

    func validate() throws {
        _ = try output.writable(out)
        try OptionCheck.within(trainedLayers, 1...6, "--trained-layers")
        try OptionCheck.within(epochs, 1...1000, "--epochs")
        try OptionCheck.within(batchSize, 1...4096, "--batch-size")
        try OptionCheck.atLeast(saveEvery, 1, "--save-every")
        try OptionCheck.within(personaPairs, 0...10_000_000, "--persona-pairs")
        try OptionCheck.within(generalPairs, 1...10_000_000, "--general-pairs")
        try OptionCheck.within(realTrainRepeats, 1...100, "--real-train-repeats")
        try OptionCheck.positive(encoderLR, "--encoder-lr", upTo: 1)
        try OptionCheck.positive(headLR, "--head-lr", upTo: 1)
        try OptionCheck.atLeast(limit, 0, "--limit")
    }

    func run() throws {
        let sick = try split.split(data)
        let generated = personaPairs > 0 ? try self.persona.load(data) : PersonaNLIGenerator.Split()
        let (sickAndPersona, validation, counts) = NLIFineTuning.data(sick: (sick.train, sick.validation), persona: generated,
                                                            personaPairs: personaPairs, limit: limit)
        let generalSample = try general.map { NLIJSONLines.sample(try NLIJSONLines.read(resolvedInput($0)), count: generalPairs, seed: seed) } ?? []
        let realRows = try realTrain.map { try HandLabelledPersonaNLI.read(resolvedInput($0)) } ?? []
        let contrasts = realTrainContrasts ? HandLabelledPersonaNLI.topicContrasts(realRows, seed: seed) : []
        let real = realRows.map(\.pair) + contrasts
        let pairs = sickAndPersona + generalSample + Array(repeating: real, count: realTrainRepeats).flatMap { $0 }
        print("nli data: SICK train \(counts.sick), persona NLI train \(counts.persona), general \(generalSample.count), "
              + "real \(real.count) x \(realTrainRepeats); validation \(validation.count) (persona \(counts.personaValidation))")

        let folder = try output.writable(out)
        let lock = try FolderLock(folder)
        defer { withExtendedLifetime(lock) {} }
        var options = NLITrainingOptions()
        options.epochs = epochs
        options.batchSize = batchSize
        options.encoderLearningRate = encoderLR
        options.headLearningRate = headLR
        options.seed = seed
        options.saveEvery = saveEvery
        var run = NLIFineTuning(
            pretrained: try MiniLMLocation.folder(minilm), trainedLayers: trainedLayers, options: options, train: pairs, validation: validation,
            data: "SICK train split (\(counts.sick) pairs\(limit > 0 ? ", --limit \(limit)" : "")) + \(counts.persona) persona NLI pairs (paml nli data, persona seed \(self.persona.personaSeed), data seed \(self.persona.dataSeed))"
                + (general.map { " + \(generalSample.count) pairs of \(URL(fileURLWithPath: $0).lastPathComponent) (seed \(seed))" } ?? "")
                + (realTrain.map { " + \(realRows.count) hand-labelled pairs of \(URL(fileURLWithPath: $0).lastPathComponent)"
                    + (contrasts.isEmpty ? "" : " + \(contrasts.count) topic contrasts") + " x \(realTrainRepeats)" } ?? ""),
            split: "SICK pair_IDs sorted, Fisher-Yates with SeededGenerator(seed: \(split.splitSeed)), 70/10/20")
        run.initFrom = initFrom.map(resolvedInput)
        let result = try run.train(into: folder, log: { print($0) })
        print("nli: saved \(folder.path): epoch \(result.epoch) (validation accuracy \(String(format: "%.4f", result.validationAccuracy))), "
              + "trained tensors only, \(result.trainedScalars) floats")
    }
}
