import ArgumentParser
import Foundation
import NLI
import Text

/// `paml nli`: fine-tune and evaluate the NLI classifier behind the consistency score C.
struct NLICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nli",
        abstract: "NLI classifier (MiniLM cross-encoder) for persona consistency: train, evaluate, human baseline.",
        subcommands: [NLIDataCommand.self, NLITrainCommand.self, NLIEvaluateCommand.self, NLIHumanCommand.self, NLISpeedCommand.self]
    )
}

/// Where the trained checkpoint and the pretrained MiniLM are.
struct NLIModelOptions: ParsableArguments {
    @Option(name: .long, help: "NLI checkpoint folder.")
    var nliCheckpoint: String = "Checkpoints/nli"

    @Option(name: .long, help: "all-MiniLM-L6-v2 model folder. Default: \(MiniLMLocation.environmentVariable) or the pip package.")
    var minilm: String?

    func pretrainedFolder() throws -> URL { try MiniLMLocation.folder(minilm) }

    func load() throws -> NLIModel {
        try NLIModel(checkpoint: resolvedInput(nliCheckpoint), pretrained: pretrainedFolder())
    }
}

/// The persona NLI pairs (Dialogue-NLI kind) built from the corpora, shared by `nli data`, `train` and `evaluate`.
struct PersonaNLIOptions: ParsableArguments {
    @Option(name: .long, help: "Seed of the persona NLI pairs (templates, sampling, cluster split).")
    var personaSeed: UInt64 = 11
    @Option(name: .long, help: "Data seed of the meta-dataset whose meta-test personas are kept out.")
    var dataSeed: UInt64 = 0

    func load(_ data: DataOptions) throws -> PersonaNLIGenerator.Split {
        try PersonaNLIGenerator.fromCorpora(data.corpusRoot, dataSeed: dataSeed, seed: personaSeed).generate()
    }
}

/// The SICK split shared by train and evaluate.
struct SICKSplitOptions: ParsableArguments {
    @Option(name: .long, help: "Seed of the SICK split by pair_ID (70/10/20).")
    var splitSeed: UInt64 = 2014

    func split(_ data: DataOptions) throws -> (train: [NLIPair], validation: [NLIPair], test: [NLIPair]) {
        SICK.split(try SICK.read(data.corpusRoot.file("nli/SICK.txt")), seed: splitSeed)
    }
}
