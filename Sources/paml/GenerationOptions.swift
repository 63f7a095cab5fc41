import ArgumentParser
import Autograd
import Dialogue
import Experiments
import Foundation
import NLI
import Text

/// Options shared by chat, generate and adapt: which model, which persona, how to adapt and decode.
struct GenerationOptions: ParsableArguments {
    enum Decoding: String, ExpressibleByArgument, CaseIterable { case beam, greedy, topK = "top-k" }

    @Option(help: "Dialogue model checkpoint folder.") var checkpoint = "Checkpoints/paml"
    @Option(help: "A few dialogues of the persona to adapt to (ConvAI2 text or .jsonl).") var persona: String?
    @Option(help: "Adaptation SGD passes over the persona's dialogues (default: the checkpoint's adaptation protocol, else 3).")
    var adaptSteps: Int?
    @Option(help: "Adaptation SGD learning rate (default: the checkpoint's adaptation protocol, else 0.003).")
    var adaptLr: Float?
    @Option(help: "Global-norm clip of each adaptation gradient, 0: none (default: the checkpoint's adaptation protocol, else 2).")
    var adaptGradientClip: Float?
    @Option(help: "Decoding: beam, greedy, top-k.") var decoding: Decoding = .beam
    @Option(help: "Beam size (1...64).") var beamSize = 5
    @Option(help: "k for top-k sampling (1...1000).") var topK = 10
    @Option(help: "Sampling temperature for top-k (> 0, at most 100).") var temperature: Float = 0.8
    @Option(help: "Seed for sampling.") var seed: UInt64 = 0
    @Flag(help: "Re-rank the beam's hypotheses by persona consistency C with the --nli-checkpoint model, ties by beam score (Welleck et al. 2019).")
    var rerankNli = false
    @Option(help: "NLI checkpoint folder for --rerank-nli.") var nliCheckpoint = "Checkpoints/nli"

    /// The adaptation protocol: each option given, else the checkpoint's stored protocol, else the tool's defaults.
    func adaptation(_ checkpoint: DialogueCheckpoint) -> AdaptationSettings {
        checkpoint.config.adaptationProtocol.overriding(steps: adaptSteps, learningRate: adaptLr, gradientClip: adaptGradientClip)
    }

    func validate() throws {
        try OptionCheck.within(beamSize, 1...64, "--beam-size")
        try OptionCheck.within(topK, 1...1000, "--top-k")
        try OptionCheck.positive(temperature, "--temperature", upTo: 100)
        if let adaptSteps { try OptionCheck.within(adaptSteps, 0...1000, "--adapt-steps") }
        if let adaptLr { try OptionCheck.finite(adaptLr, "--adapt-lr", from: 0, to: 10) }
        if let adaptGradientClip { try OptionCheck.finite(adaptGradientClip, "--adapt-gradient-clip", from: 0) }
        if rerankNli {
            guard decoding == .beam else { throw ValidationError("--rerank-nli re-ranks beam hypotheses; use --decoding beam") }
            guard persona != nil else { throw ValidationError("--rerank-nli needs --persona FILE (the persona sentences to be consistent with)") }
        }
    }

    /// The NLI re-ranker of `--rerank-nli`, with the pretrained MiniLM from the pip package or $PAML_MINILM_DIR.
    func loadReranker() throws -> ConsistencyReranker? {
        guard rerankNli else { return nil }
        return ConsistencyReranker(predictor: try NLIModel(checkpoint: resolvedInput(nliCheckpoint),
                                                           pretrained: MiniLMLocation.folder(nil, neededFor: "--rerank-nli")))
    }

    var strategy: DecodingStrategy {
        switch decoding {
        case .greedy: return .greedy
        case .topK: return .topK(k: topK, temperature: temperature)
        case .beam: return .beam(size: beamSize)
        }
    }

    /// The model, adapted to the persona file when one is given, plus the persona sentences.
    func loadAdapted() throws -> (loaded: DialogueCheckpoint, parameters: Parameters, persona: [String]) {
        let loaded = try DialogueCheckpoint(folder: resolvedInput(checkpoint))
        guard let persona else { return (loaded, loaded.parameters, []) }
        let file = try PersonaDialogueFile(url: URL(fileURLWithPath: persona))
        let adapted = try adapt(loaded, to: file, settings: adaptation(loaded),
                                log: { FileHandle.standardError.write(Data(($0 + " of \(persona)\n").utf8)) })
        return (loaded, adapted, file.persona)
    }
}
