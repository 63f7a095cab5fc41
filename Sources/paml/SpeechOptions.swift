import ArgumentParser
import Dialogue
import Foundation
import NLI
import Recommender
import SpokenRecommender
import Text

/// How system sentences are produced and replies read.
struct SpeechOptions: ParsableArguments {
    @Option(help: "The model that says actions: a speaker (`paml recommend train-speaker`: the PAML dialogue model, reads the conversation), an action-language model (`train-language`), or `templates`.")
    var languageCheckpoint = "Checkpoints/crs-speaker"
    @Option(help: "A voice for the speaker: a persona file (JSONL or ConvAI2 text) of a few dialogues in which the system speaks, real lastfm names included; the speaker adapts to it first (k-shot, SGD 0.01, 10 passes).")
    var voice: String?
    @Option(help: "Style examples (ask|recommend TAB name TAB sentence lines): the model adapts to them first (PAML inner-loop SGD).")
    var style: String?
    @Option(help: "Style adaptation: SGD passes over the style examples.") var styleSteps = 10
    @Option(help: "Style adaptation: SGD learning rate.") var styleLr: Float = 0.03
    enum SpeechDecoding: String, ExpressibleByArgument, CaseIterable { case topK = "top-k", greedy, beam }
    @Option(help: "Decoding of system sentences: top-k (varied), greedy or beam.") var speechDecoding: SpeechDecoding = .topK
    @Option(help: "k of top-k sampling of system sentences.") var speechTopK = 3
    @Option(help: "Temperature of top-k sampling of system sentences.") var speechTemperature: Float = 0.5
    @OptionGroup var replies: ReaderOptions

    func validate() throws {
        try OptionCheck.within(styleSteps, 0...1000, "--style-steps")
        try OptionCheck.finite(styleLr, "--style-lr", from: 0, to: 10)
        try OptionCheck.within(speechTopK, 1...1000, "--speech-top-k")
        try OptionCheck.positive(speechTemperature, "--speech-temperature", upTo: 100)
    }

    var strategy: DecodingStrategy {
        switch speechDecoding {
        case .greedy: return .greedy
        case .beam: return .beam(size: 4)
        case .topK: return .topK(k: speechTopK, temperature: speechTemperature)
        }
    }

    /// The realiser (nil for `templates`), adapted to the voice or style file when one is given.
    func realiser(dataset: CRSDataset, log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws -> ActionRealiser? {
        guard languageCheckpoint != "templates" else {
            if voice != nil || style != nil { throw ValidationError("--voice and --style need a model, not --language-checkpoint templates") }
            return nil
        }
        return try ActionRealiser(checkpoint: try DialogueCheckpoint(folder: resolvedInput(languageCheckpoint)), strategy: strategy,
                                  style: style.map { URL(fileURLWithPath: $0) }, styleSteps: styleSteps, styleLearningRate: styleLr,
                                  voice: voice.map { URL(fileURLWithPath: $0) }, dataset: dataset, log: log)
    }

    func reader() throws -> ReplyReader { try replies.reader() }
}

/// How users' replies are read.
struct ReaderOptions: ParsableArguments {
    @Flag(help: "Read replies with the rules only (no NLI model for unclear replies).") var rulesOnly = false
    @Option(help: "NLI checkpoint that reads replies the rules leave unclear.") var nliCheckpoint = "Checkpoints/nli"
    @Option(help: "all-MiniLM-L6-v2 model folder (the NLI model's frozen blocks). Default: $PAML_MINILM_DIR or the pip package.")
    var minilm: String?

    /// The NLI checkpoint and MiniLM folder the reader uses, or nil (rules only, said on stderr).
    func nliFolders(log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) -> (checkpoint: URL, pretrained: URL)? {
        if rulesOnly { return nil }
        let nliFolder = resolvedInput(nliCheckpoint)
        guard FileManager.default.fileExists(atPath: nliFolder.appendingPathComponent("config.json").path),
              let pretrained = minilm.map({ URL(fileURLWithPath: $0) }) ?? MiniLMLocation.find() else {
            log("reply reader: rules only (NLI checkpoint \(nliCheckpoint) or all-MiniLM-L6-v2 not found)")
            return nil
        }
        return (nliFolder, pretrained)
    }

    /// The reply reader: rules, plus NLI when the checkpoint and MiniLM are found.
    func reader() throws -> ReplyReader {
        guard let folders = nliFolders() else { return ReplyReader() }
        return ReplyReader(nli: try NLIModel(checkpoint: folders.checkpoint, pretrained: folders.pretrained))
    }
}

/// Loads a CRS dataset and its simulator with the popularity candidate order.
func loadSimulator(_ data: DataOptions, dataset: String, maxTurns: Int) throws -> UserSimulator {
    let d = try CRSDataset.load(directory: data.corpusRoot.file("crs/\(dataset)"))
    return UserSimulator(dataset: d, source: .sampled, maxTurns: maxTurns,
                         itemOrder: d.popularityOrder(users: d.trainUsers))
}
