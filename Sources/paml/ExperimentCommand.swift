import ArgumentParser
import Foundation
import MetaLearning
import Experiments
import Dialogue
import Tensor
import Text

/// `paml experiment ...`: the paper's experiments, each writing its tables and plots into Evaluation/.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Rerunnable experiments that write result tables and plots into Evaluation/.",
        subcommands: [KShotCommand.self, ConsistencyCommand.self, CurvesCommand.self]
    )
}

/// `paml experiment kshot`: PAML's Table 1 and the k-shot curve on the meta-test personas.
struct KShotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kshot",
        abstract: "k-shot persona adaptation: perplexity for every k and system, Table 1 (PPL, BLEU), curve as SVG.",
        discussion: """
        For each meta-test persona and each of its first --held-out dialogues: adapt on k of its other dialogues \
        (SGD, --adapt-lr, --adapt-steps passes), score the held-out dialogue. Dialogue+Fine-tuning is the Dialogue \
        model under this protocol; Dialogue+Persona is evaluated without adaptation (it reads the persona). BLEU is \
        corpus BLEU (sacreBLEU 13a) of beam-5 responses on the first --bleu-turns turns of each held-out dialogue.
        """
    )

    @OptionGroup var personaData: PersonaDataOptions

    @Option(help: "Checkpoint of the Dialogue model.") var dialogue: String
    @Option(help: "Checkpoint of the Dialogue+Persona model.") var dialoguePersona: String?
    @Option(help: "Checkpoint of the PAML model.") var paml: String
    @Option(help: "Equal-compute control: the Dialogue model trained on with supervision for as many gradient computations as PAML's meta-training; adapted like the others.")
    var control: String?
    @Option(parsing: .upToNextOption, help: "Shots k.") var shots: [Int] = [0, 1, 3, 5, 10]
    @Option(help: "Meta-test personas used (nil: all).") var personas: Int?
    @Option(help: "Held-out dialogues per persona.") var heldOut = 3
    @Option(help: "Adaptation SGD passes over the support set.") var adaptSteps = 5
    @Option(help: "Adaptation SGD learning rate (alpha), used when --tune-lr is not given.") var adaptLr: Float = 0.01
    @Option(help: "Global-norm clip of each adaptation gradient, the same for every system (0: none).")
    var adaptGradientClip: Float = 2
    @Option(parsing: .upToNextOption,
            help: "Candidate adaptation learning rates: for each adapted system and k, the one with the lowest meta-valid k-shot perplexity is used.")
    var tuneLr: [Float] = []
    @Option(help: "Meta-valid personas (one held-out dialogue each) used by --tune-lr.") var tunePersonas = 10
    @Option(help: "Turns per held-out dialogue whose beam-5 responses are scored by BLEU and C (0: none).") var bleuTurns = 2
    @Option(help: "NLI checkpoint for the consistency score C (the folder must exist; --no-consistency skips C).")
    var nliCheckpoint = "Checkpoints/nli"
    @Option(help: "all-MiniLM-L6-v2 model folder. Default: \(MiniLMLocation.environmentVariable) or the pip package.")
    var minilm: String?
    @Flag(help: "Do not score consistency C.") var noConsistency = false
    @Option(help: "Output folder for paml.md, paml_kshot.json/.svg and paml_responses.jsonl (Evaluation needs --force).")
    var out = "runs/kshot"
    @OptionGroup var output: OutputOptions
    @Flag(help: "Only redraw paml_kshot.svg from the paml_kshot.json of an earlier run in --out.") var plotOnly = false

    func validate() throws {
        _ = try output.writable(out)
        try checked("--shots") {
            try KShotProtocol(shots: shots, steps: adaptSteps, learningRate: adaptLr, gradientClip: adaptGradientClip,
                              maxPersonas: personas, heldOutPerPersona: heldOut).validate()
        }
        for rate in tuneLr { try OptionCheck.positive(rate, "--tune-lr", upTo: 10) }
        try OptionCheck.atLeast(tunePersonas, 1, "--tune-personas")
        try OptionCheck.within(bleuTurns, 0...1000, "--bleu-turns")
    }

    func run() throws {
        let folder = try output.writable(out)
        let lock = try FolderLock(folder)
        defer { withExtendedLifetime(lock) {} }
        if plotOnly { return try KShotExperiment.replot(in: folder) }
        let config = try experimentConfig()
        let result = try KShotExperiment(config: config).run(progress: { print($0) })
        // Written only after every measurement succeeded and is finite, so a failed run never replaces a table.
        let files = try KShotExperiment.reportFiles(config: config, result: result, command: commandLine())
        try writeReport(files, config: config, to: folder, job: "kshot")
    }

    /// The library config, with paths resolved the way the tool finds shipped files.
    func experimentConfig() throws -> KShotExperimentConfig {
        var config = KShotExperimentConfig(data: personaData.data.corpusRoot.url.path, dialogue: resolvedInput(dialogue).path,
                                           paml: resolvedInput(paml).path)
        config.dataSeed = personaData.dataSeed
        config.dialoguePersona = dialoguePersona.map { resolvedInput($0).path }
        config.control = control.map { resolvedInput($0).path }
        (config.shots, config.personas, config.heldOut) = (shots, personas, heldOut)
        (config.adaptSteps, config.adaptLr, config.adaptGradientClip) = (adaptSteps, adaptLr, adaptGradientClip)
        (config.tuneLr, config.tunePersonas, config.bleuTurns) = (tuneLr, tunePersonas, bleuTurns)
        if !noConsistency {
            config.nliCheckpoint = resolvedInput(nliCheckpoint).path
            config.minilm = try MiniLMLocation.folder(minilm, neededFor: "C (--no-consistency skips it)").path
        }
        return config
    }
}

/// `paml experiment consistency`: C against k under the release's protocol (PAML, Figure 2).
struct ConsistencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consistency",
        abstract: "Consistency C against k for every system (the PAML paper's Figure 2), with bootstrap intervals and controls.",
        discussion: """
        For each meta-test persona and each of its first --held-out dialogues: adapt all weights on the k dialogues that \
        follow it (SGD, --adapt-lr, --adapt-batch, --adapt-steps passes, no clip unless --adapt-clip: the release's \
        fine-tuning), answer every turn with beam 5, and score each answer against the persona with the NLI model. \
        Dialogue+Fine-tuning is the Dialogue model under this protocol (its k = 0 is the Dialogue model); \
        Dialogue+Persona answers at k = 0 only. --wrong-persona adds the control that adapts PAML and \
        Dialogue+Fine-tuning on another persona's dialogues. Finished dialogues are cached in --cache: an interrupted run \
        resumes where it stopped.
        """
    )

    @OptionGroup var personaData: PersonaDataOptions
    @Option(help: "Checkpoint of the Dialogue model (Dialogue+Fine-tuning when adapted).") var dialogue: String
    @Option(help: "Checkpoint of the Dialogue+Persona model.") var dialoguePersona: String?
    @Option(help: "Checkpoint of PAML meta-trained from scratch.") var paml: String?
    @Option(help: "Checkpoint of PAML meta-trained from the converged Dialogue model.") var pamlFromDialogue: String?
    @Option(help: "Checkpoint of the Dialogue model trained on for as many updates as PAML's meta-training.") var control: String?
    @Option(parsing: .upToNextOption, help: "Shots k.") var shots: [Int] = [0, 1, 3, 5, 10]
    @Option(help: "Meta-test personas used, the first in order (default: all).") var personas: Int?
    @Option(help: "Held-out dialogues per persona.") var heldOut = 8
    @Option(help: "Adaptation SGD passes over the support set.") var adaptSteps = 10
    @Option(help: "Adaptation SGD learning rate.") var adaptLr: Float = 0.01
    @Option(help: "Adaptation batch size.") var adaptBatch = 16
    @Option(help: "Global-norm clip of each adaptation gradient (0: none, as the release).") var adaptClip: Float = 0
    @Option(help: "Beam size.") var beam = 5
    @Option(help: "No n-gram of this length twice in an answer (0: off, as the release; 3: trigram blocking).") var blockNgram = 0
    @Option(help: "Also answer with no n-gram of this length twice, from the same adapted weights (a second table; 0: not).") var alsoBlockNgram = 3
    @Flag(help: "Also adapt PAML and Dialogue+Fine-tuning on another persona's dialogues at k = 3 and 10 (control).") var wrongPersona = false
    @Flag(help: "Skip the fact-recall probe (the corpus's questions about each kind of fact the persona states).") var noFactRecall = false
    @Option(help: "Bootstrap resamples of the personas.") var resamples = 10_000
    @Option(help: "NLI checkpoint for C.") var nliCheckpoint = "Checkpoints/nli"
    @Option(help: "all-MiniLM-L6-v2 model folder. Default: \(MiniLMLocation.environmentVariable) or the pip package.") var minilm: String?
    @Option(help: "Folder of finished units (resumable).") var cache = "runs/paml-consistency/cache"
    @Option(help: "Output folder for paml-consistency.md/.json/.svg (Evaluation needs --force).") var out = "runs/paml-consistency"
    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try output.writable(out)
        try checked("--shots") { try experimentConfig(paths: false).validate() }
    }

    func run() throws {
        let folder = try output.writable(out)
        let lock = try FolderLock(folder)
        defer { withExtendedLifetime(lock) {} }
        let config = try experimentConfig(paths: true)
        let report = try ConsistencyCurve(config: config).run(command: commandLine(), progress: { print($0); fflush(stdout) })
        try writeReport(try ConsistencyCurve.reportFiles(report), config: config, to: folder, job: "consistency")
    }

    /// The library config (with `paths`, resolved the way the tool finds shipped files, and MiniLM located).
    func experimentConfig(paths: Bool) throws -> ConsistencyCurveConfig {
        func path(_ p: String) -> String { paths ? resolvedInput(p).path : p }
        var systems = [ConsistencySystem(name: "Dialogue+Fine-tuning", checkpoint: path(dialogue), adapted: true)]
        if let dialoguePersona { systems.append(ConsistencySystem(name: "Dialogue+Persona", checkpoint: path(dialoguePersona), adapted: false)) }
        if let control { systems.append(ConsistencySystem(name: "Dialogue+Fine-tuning (equal updates)", checkpoint: path(control), adapted: true)) }
        if let paml { systems.append(ConsistencySystem(name: "PAML", checkpoint: path(paml), adapted: true)) }
        if let pamlFromDialogue { systems.append(ConsistencySystem(name: "PAML (from Dialogue)", checkpoint: path(pamlFromDialogue), adapted: true)) }
        let minilmFolder = paths ? try MiniLMLocation.folder(minilm, neededFor: "C").path : (minilm ?? "")
        var config = ConsistencyCurveConfig(data: personaData.data.corpusRoot.url.path, systems: systems,
                                            nliCheckpoint: path(nliCheckpoint), minilm: minilmFolder, cache: cache)
        config.dataSeed = personaData.dataSeed
        (config.shots, config.personas, config.heldOut, config.beam, config.resamples) = (shots, personas, heldOut, beam, resamples)
        config.blockNGram = blockNgram
        config.alsoBlockNGram = alsoBlockNgram
        config.factRecall = !noFactRecall
        (config.adaptSteps, config.adaptLr, config.adaptBatch, config.adaptClip) = (adaptSteps, adaptLr, adaptBatch, adaptClip)
        if wrongPersona {
            config.wrongPersonaSystems = systems.filter { $0.name == "PAML" || $0.name == "Dialogue+Fine-tuning" }.map(\.name)
            config.wrongPersonaShots = [3, 10].filter(shots.contains)
            guard !config.wrongPersonaShots.isEmpty else { throw ValidationError("--wrong-persona needs k = 3 or k = 10 in --shots") }
        }
        return config
    }
}

/// `paml experiment curves`: validation learning curves of training runs, from the history their checkpoints keep.
struct CurvesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curves",
        abstract: "Plot the validation curves of training runs (e.g. Evaluation/paml-training.svg) from their checkpoints.",
        discussion: "Each --run is NAME=FOLDER, a run folder of `paml train` (its config.json keeps every validation)."
    )

    @Option(name: .customLong("run"), help: "NAME=FOLDER of a training run (repeatable).") var runs: [String]
    @Option(help: "Output SVG (Evaluation needs --force).") var out = "runs/paml-training.svg"
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !runs.isEmpty, runs.allSatisfy({ $0.split(separator: "=", maxSplits: 1).count == 2 }) else {
            throw ValidationError("--run needs NAME=FOLDER, one or more")
        }
    }

    func run() throws {
        let file = URL(fileURLWithPath: out)
        _ = try output.writable(file.deletingLastPathComponent().path)
        var series: [(String, [(Double, Double)])] = []
        for run in runs {
            let parts = run.split(separator: "=", maxSplits: 1).map(String.init)
            let checkpoint = try DialogueCheckpoint(folder: resolvedInput(parts[1]))
            let curve = ValidationHistory.parse(checkpoint.metadata["paml.validationHistory"])
            guard !curve.isEmpty else { throw ValidationError("\(parts[1]): no validation history in its config.json") }
            series.append((parts[0], curve.map { (Double($0.step), $0.value) }))
            print("\(parts[0]): \(curve.count) validations, last \(curve.last!.step): \(curve.last!.value)")
        }
        try Data(lineChartSVG(title: "Validation curves (meta-valid)", xLabel: "step", yLabel: "validation perplexity",
                              series: series).utf8).write(to: file, options: .atomic)
        print("wrote \(file.path)")
    }
}
