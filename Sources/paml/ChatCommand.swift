import ArgumentParser
import Autograd
import Dialogue
import NLI
import Foundation
import MetaLearning
import Experiments
import NN
import Tensor
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
                                                           pretrained: miniLMFolder(nil, neededFor: "--rerank-nli")))
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

/// `paml chat`: talk with a (persona-adapted) model in the terminal.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with the dialogue model, adapted to a persona from a few of its dialogues.",
        discussion: "Type a line and press return; an empty line or end of input quits. Default model: Checkpoints/paml."
    )

    @OptionGroup var options: GenerationOptions

    func run() throws {
        let (loaded, parameters, persona) = try options.loadAdapted()
        let reranker = try options.loadReranker()
        var history: [String] = []
        print("[\(loaded.config.system.rawValue) model from \(loaded.folder?.path ?? options.checkpoint); empty line to quit]")
        while true {
            print("you> ", terminator: "")
            fflush(stdout)
            guard let line = readLine(), !line.trimmingCharacters(in: .whitespaces).isEmpty else { break }
            history.append(line)
            let answer = respond(loaded, parameters, history: history, persona: persona, strategy: options.strategy, seed: options.seed,
                                 reranker: reranker, log: { print("     \($0)") })
            history.append(answer)
            print("bot> \(answer)")
        }
    }
}

/// `paml generate`: one response per input line (each line is the partner's turn of a running dialogue,
/// or with --independent a separate one-turn history).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate responses for input lines (stdin or --input), optionally persona-adapted."
    )

    @OptionGroup var options: GenerationOptions
    @Option(help: "File of input turns, one a line (default: standard input); a blank line gives a blank output line.") var input: String?
    @Flag(help: "Treat every line as its own dialogue instead of one running dialogue.") var independent = false
    @Flag(help: "With --rerank-nli: print every beam hypothesis with its score, C and NLI labels to standard error.")
    var showBeam = false

    func run() throws {
        let (loaded, parameters, persona) = try options.loadAdapted()
        let reranker = try options.loadReranker()
        let text = try input.map { try TextFile.string(URL(fileURLWithPath: $0)) }
            ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        var history: [String] = []
        // One output line per input line, so outputs stay aligned with inputs (CRLF or LF).
        for line in TextFile.lines(text).map(String.init) {
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { print(""); continue }
            if independent { history = [] }
            history.append(line)
            let answer = respond(loaded, parameters, history: history, persona: persona, strategy: options.strategy, seed: options.seed, reranker: reranker,
                                 log: showBeam ? { FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8)) } : nil)
            history.append(answer)
            print(answer)
        }
    }
}

/// `paml adapt`: save the persona-adapted weights as a checkpoint of their own.
struct AdaptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapt",
        abstract: "Adapt a dialogue model to a persona (k-shot SGD) and save the adapted checkpoint."
    )

    @OptionGroup var options: GenerationOptions
    @Option(help: "Folder for the adapted checkpoint (must not hold a model or a training run).") var out = "runs/adapted"
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if options.persona == nil { throw ValidationError("--persona FILE is required for adapt") }
        let folder = try output.writable(out)
        if DialogueCheckpoint.exists(in: folder) {
            throw ValidationError("--out \(out) already holds a model or training run; choose an empty folder (adapt never replaces one)")
        }
    }

    func run() throws {
        let folder = try output.writable(out)
        let lock = try FolderLock(folder)
        defer { withExtendedLifetime(lock) {} }
        let (loaded, parameters, _) = try options.loadAdapted()
        var adapted = DialogueCheckpoint(config: loaded.config, parameters: parameters, vocabulary: loaded.vocabulary)
        let settings = options.adaptation(loaded)
        adapted.metadata = ["adaptedFrom": loaded.folder?.path ?? options.checkpoint, "persona": options.persona ?? "",
                            "adaptSteps": "\(settings.steps)", "adaptLr": "\(settings.learningRate)",
                            "adaptGradientClip": "\(settings.gradientClip)"]
        try adapted.save(to: folder)
        print("saved adapted model to \(out)")
    }
}
