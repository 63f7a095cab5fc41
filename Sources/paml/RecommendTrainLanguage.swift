import ArgumentParser
import Dialogue
import Experiments
import Foundation
import Tensor

/// `paml recommend train-language`: mine action -> sentence pairs, train the action-language Seq2Seq, measure it.
struct RecommendTrainLanguage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-language",
        abstract: "Train the model that says CRS actions in words (pairs mined from Persona-Chat + templates).",
        discussion: """
        Pairs: delexicalised actions ("no ask genre xattr") -> sentences mined from ConvAI2 valid and \
        Synthetic-Persona-Chat ("do you like xattr music ?", "you should check out xitem !") plus templates; \
        10% of frames held out. The Seq2Seq (GloVe-initialised) trains on them; the best model on held-out \
        perplexity goes to --out with metrics.json (held-out PPL, BLEU, slot accuracy on lastfm names).
        """
    )

    @OptionGroup var data: DataOptions
    @Option(help: "Folder of the finished model (Checkpoints/crs-language needs --force).") var out = "runs/crs-language/model"
    @OptionGroup var output: OutputOptions
    @Option(help: "Folder of the resumable training run.") var work = "runs/crs-language/run"
    @Option(help: "Seed of the pair mining, held-out split and acknowledgements.") var dataSeed: UInt64 = 1
    @Option(help: "Training steps.") var steps = 800
    @Option(help: "Pairs per batch.") var batchSize = 32
    @Option(help: "Adam learning rate.") var learningRate: Float = 1e-3
    @Option(help: "Training seed.") var seed: UInt64 = 1
    @Option(help: "Transformer layers.") var layers = 2
    @Option(help: "Model width.") var width = 128
    @Option(help: "Least count of a Persona-Chat word to enter the vocabulary (pair words always do).") var minCount = 5
    @Option(help: "Artists sampled for the slot-accuracy measurement.") var slotItems = 200
    @Flag(help: "Only mine the pairs and print statistics and every frame.") var pairsOnly = false
    @Flag(help: "Do not train: measure the model in --out on the held-out pairs and rewrite its metrics.json.")
    var measureOnly = false

    func validate() throws {
        _ = try output.writable(out)
        _ = try output.writable(work, option: "--work")
        try OptionCheck.within(steps, 1...10_000_000, "--steps")
        try OptionCheck.within(batchSize, 1...65_536, "--batch-size")
        try OptionCheck.positive(learningRate, "--learning-rate", upTo: 10)
        try OptionCheck.within(layers, 1...48, "--layers")
        try checked("--width") { try Check.within(width, 4...8192, "--width") }
        guard width % 4 == 0 else { throw ValidationError("--width \(width): must be a multiple of the 4 attention heads") }
        try OptionCheck.within(minCount, 1...1_000_000_000, "--min-count")
        try OptionCheck.within(slotItems, 1...100_000, "--slot-items")
    }

    func run() throws {
        var config = ActionLanguageTrainingConfig(data: data.corpusRoot.url.path, out: out, work: work)
        (config.dataSeed, config.steps, config.batchSize, config.learningRate, config.seed) = (dataSeed, steps, batchSize, learningRate, seed)
        (config.layers, config.width, config.minCount, config.slotItems) = (layers, width, minCount, slotItems)
        let job = ActionLanguageTraining(config: config)
        let pairs = try job.minePairs(log: { print($0) }, allFrames: pairsOnly)
        if pairsOnly { return }
        let outFolder = try output.writable(out)
        let lock = try FolderLock(outFolder)
        defer { withExtendedLifetime(lock) {} }
        let metrics = measureOnly ? try job.measure(try DialogueCheckpoint(folder: resolvedInput(out)), heldOut: pairs.heldOut)
                                  : try job.train(pairs, log: { print($0) })
        print(metrics.summary)
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        try json.encode(metrics).write(to: outFolder.appendingPathComponent("metrics.json"), options: .atomic)
        print("saved \(out) (model, vocab.txt, metrics.json)")
    }
}
