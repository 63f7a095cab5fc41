import ArgumentParser
import Autograd
import Dialogue
import Evaluators
import Foundation
import MetaLearning
import NN
import Tensor
import Text

/// `paml experiment ...`: the paper's experiments, each writing its tables and plots into Evaluation/.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Rerunnable experiments that write result tables and plots into Evaluation/.",
        subcommands: [KShotExperiment.self]
    )
}

/// A trained dialogue model loaded from its checkpoint folder.
struct LoadedDialogueModel {
    let checkpoint: DialogueCheckpoint
    let folder: URL
    var config: DialogueModelConfig { checkpoint.config }
    var parameters: Parameters { checkpoint.parameters }
    var vocabulary: Vocabulary { checkpoint.vocabulary }
    var model: Seq2Seq { checkpoint.model }

    init(folder: URL) throws {
        self.folder = folder
        checkpoint = try DialogueCheckpoint(folder: folder)
    }

    init(folder path: String) throws { try self.init(folder: resolvedInput(path)) }

    /// The meta-dataset encoded the way this model reads it.
    func corpus(_ dataset: PersonaMetaDataset) -> PersonaCorpus {
        PersonaCorpus(dataset: dataset, encoder: ExampleEncoder(vocabulary: vocabulary, format: config.format))
    }
}

/// `paml experiment kshot`: PAML's Table 1 and the k-shot curve on the meta-test personas.
struct KShotExperiment: ParsableCommand {
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

    /// One row of Table 1.
    struct Row {
        var system: String
        var k: Int
        var learningRate: Float?
        var result: KShotProtocol.Result?
        var bleu: BLEUScore?
        var consistency: Double?
    }

    func run() throws {
        if plotOnly {
            let data = try TextFile.data(URL(fileURLWithPath: out).appendingPathComponent("paml_kshot.json"))
            try writePlot(curves: try JSONDecoder().decode([String: [KShotProtocol.Result]].self, from: data))
            return
        }
        setBLASThreads(2)
        let lock = try FolderLock(try output.writable(out))
        defer { withExtendedLifetime(lock) {} }
        let started = Date()
        let dataset = try personaData.load()
        let scorer = try noConsistency ? nil : ConsistencyScorer(predictor: loadNLI())
        let personaSentences = Dictionary(uniqueKeysWithValues: dataset.tasks(in: .test).map { task in
            (task.id, task.dialogues.map(\.persona))
        })
        let maxShots = shots.max() ?? 0
        var curves: [String: [KShotProtocol.Result]] = [:]
        var table: [Row] = []
        var humanResponses: [(utterance: String, persona: [String])] = []
        // Every scored response as a `paml score` transcript line, so C can be recomputed with any NLI model.
        var transcript: [[String: Any]] = []

        var chosenRates: [String: [Float]] = [:]
        /// The adaptation learning rate of one system at k shots: the fixed --adapt-lr, or the best of --tune-lr
        /// by k-shot perplexity on the meta-valid personas `valid`.
        func learningRate(_ name: String, _ loaded: LoadedDialogueModel, valid: [EncodedPersona], k: Int) throws -> Float {
            guard !tuneLr.isEmpty, k > 0 else { return adaptLr }
            var best = (rate: tuneLr[0], perplexity: Double.infinity)
            for rate in tuneLr {
                let probe = KShotProtocol(shots: [k], steps: adaptSteps, learningRate: rate, gradientClip: adaptGradientClip,
                                          maxPersonas: tunePersonas,
                                          heldOutPerPersona: 1)
                let perplexity = try probe.evaluate(model: loaded.model, parameters: loaded.parameters, personas: valid, k: k).perplexity
                print(String(format: "%@: meta-valid %d-shot perplexity %.2f at adaptation lr %g", name, k, perplexity, rate))
                if perplexity < best.perplexity { best = (rate, perplexity) }
            }
            return best.rate
        }

        func measure(_ name: String, _ loaded: LoadedDialogueModel, ks: [Int], tableK: Int, adapted: Bool) throws {
            let corpus = loaded.corpus(dataset)
            // Same personas for every k: those with enough dialogues for the largest k.
            let testPersonas = (corpus.personas[.test] ?? []).filter { $0.dialogues.count > maxShots }
            let validPersonas = (corpus.personas[.valid] ?? []).filter { $0.dialogues.count > maxShots }
            guard !testPersonas.isEmpty, !validPersonas.isEmpty else {
                let most = (corpus.personas[.test] ?? []).map(\.dialogues.count).max() ?? 0
                throw ValidationError("--shots \(maxShots): no meta-test (or meta-valid) persona has more than \(maxShots) dialogues "
                                      + "(the most a meta-test persona has is \(most)); nothing was written")
            }
            for k in ks {
                let rate = adapted ? try learningRate(name, loaded, valid: validPersonas, k: k) : adaptLr
                if adapted { chosenRates[name, default: []].append(rate) }
                let kshot = KShotProtocol(shots: ks, steps: adaptSteps, learningRate: rate, gradientClip: adaptGradientClip,
                                          maxPersonas: personas,
                                          heldOutPerPersona: heldOut)
                var hypotheses: [String] = [], references: [String?] = []
                var responses: [(utterance: String, persona: [String])] = []
                let inspect: ((Parameters, EncodedPersona, Int) throws -> Void)? = k == tableK && bleuTurns > 0 ? { adapted, persona, held in
                    let sentences = personaSentences[persona.id]?[held] ?? []
                    for example in persona.dialogues[held].prefix(bleuTurns) {
                        let best = loaded.model.generate(parameters: adapted, source: example.source, strategy: .beam(size: 5))[0]
                        let hypothesis = loaded.vocabulary.decode(best.tokens).joined(separator: " ")
                        let reference = loaded.vocabulary.decode(example.response).joined(separator: " ")
                        hypotheses.append(hypothesis)
                        references.append(reference)
                        responses.append((hypothesis, sentences))
                        transcript.append(["speaker": "\(name) k=\(k)", "text": hypothesis, "persona": sentences])
                        if name == "Dialogue" {
                            humanResponses.append((reference, sentences))
                            transcript.append(["speaker": "Human", "text": reference, "persona": sentences])
                        }
                    }
                } : nil
                let t0 = Date()
                let result = try kshot.evaluate(model: loaded.model, parameters: loaded.parameters, personas: testPersonas, k: k,
                                            inspect: inspect)
                curves[name, default: []].append(result)
                let bleu = inspect == nil ? nil : BLEU().corpusScore(hypotheses: hypotheses, references: [references])   // one reference stream
                let consistency = inspect == nil ? nil : scorer.map { ConsistencyScorer.meanScore($0.score(responses)) }
                if k == tableK {
                    table.append(Row(system: name, k: k, learningRate: adapted && k > 0 ? rate : nil, result: result,
                                     bleu: bleu, consistency: consistency))
                }
                print(String(format: "%@ k=%d: ppl %.2f over %d tokens, %d personas, %d held-out dialogues%@%@ (%.0fs)",
                             name, k, result.perplexity, result.tokens, result.personas, result.heldOutDialogues,
                             bleu.map { String(format: ", BLEU %.2f", $0.score) } ?? "",
                             consistency.map { String(format: ", C %.3f", $0) } ?? "", Date().timeIntervalSince(t0)))
            }
        }

        if let dialoguePersona {
            try measure("Dialogue+Persona", try LoadedDialogueModel(folder: dialoguePersona), ks: [0], tableK: 0, adapted: false)
        }
        let dialogueModel = try LoadedDialogueModel(folder: dialogue)
        try measure("Dialogue", dialogueModel, ks: [0], tableK: 0, adapted: false)
        try measure("Dialogue+Fine-tuning", dialogueModel, ks: shots, tableK: maxShots, adapted: true)
        if let control {
            try measure(Self.controlName, try LoadedDialogueModel(folder: control), ks: shots, tableK: maxShots, adapted: true)
        }
        let pamlModel = try LoadedDialogueModel(folder: paml)
        try measure("PAML", pamlModel, ks: shots, tableK: maxShots, adapted: true)
        if let scorer, !humanResponses.isEmpty {
            table.append(Row(system: "Human", k: 0, consistency: ConsistencyScorer.meanScore(scorer.score(humanResponses))))
        }
        // Written only after every measurement succeeded and is finite, so a failed run never replaces a table.
        if let bad = curves.first(where: { $0.value.contains { !$0.perplexity.isFinite } }) {
            throw CommandLineError(message: "\(bad.key): a perplexity is not finite; no table was written")
        }
        try writeReport(table: table, curves: curves, rates: chosenRates, seconds: Date().timeIntervalSince(started))
        let lines = try transcript.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        try Data((lines.joined(separator: "\n") + "\n").utf8)
            .write(to: URL(fileURLWithPath: out).appendingPathComponent("paml_responses.jsonl"), options: .atomic)
        print("wrote \(out)/paml_responses.jsonl (\(lines.count) responses; rescore with `paml score`)")
    }

    static let controlName = "Dialogue+Fine-tuning (equal compute)"
    /// The systems with a k-shot curve, in table and plot order.
    static let adaptedSystems = ["Dialogue+Fine-tuning", controlName, "PAML"]

    func loadNLI() throws -> NLIModel {
        try NLIModel(checkpoint: resolvedInput(nliCheckpoint), pretrained: miniLMFolder(minilm, neededFor: "C (--no-consistency skips it)"))
    }

    func writeReport(table: [Row], curves: [String: [KShotProtocol.Result]], rates: [String: [Float]], seconds: Double) throws {
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let lrNote = tuneLr.isEmpty ? "fixed by --adapt-lr"
            : "chosen for each system and k from \(tuneLr.map { "\($0)" }.joined(separator: ", ")) by meta-valid k-shot perplexity on \(tunePersonas) personas, one held-out dialogue each; see the lr table below"
        let command = CommandLine.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        var md = """
        # PAML k-shot persona adaptation (Table 1 and k-shot curve)

        Measured by this project, not copied from the paper. Data: the persona meta-dataset built from ConvAI2 \
        validation dialogues and Synthetic-Persona-Chat valid/test (`paml data stats`, data seed \(personaData.dataSeed)); \
        the Persona-Chat train split is not available, so the paper's figures are not comparable to these. Split: meta-test \
        personas (disjoint from meta-train). Protocol: each persona's first \(heldOut) dialogues held out in turn; \
        adaptation on the k following dialogues, \(adaptSteps) SGD passes at the learning rate in the table (\(lrNote)), \
        \(adaptGradientClip > 0 ? "each gradient clipped to global norm \(adaptGradientClip)" : "gradients not clipped"). \
        BLEU: sacreBLEU-compatible corpus BLEU (13a, exp smoothing) of beam-5 responses on the first \(bleuTurns) turns of \
        each held-out dialogue. C: mean over those responses of C(u) = sum over the held-out dialogue's persona sentences \
        of +1 entailment / 0 neutral / -1 contradiction (\(noConsistency ? "not measured in this run" : "NLI model `\(nliCheckpoint)`")); \
        the Human row scores the human responses of the same turns. Every scored response is in `paml_responses.jsonl` \
        (speaker = system and k), so `paml score` can rescore C with another NLI model.

        \(control.map { "\(Self.controlName): the Dialogue model of `\($0)`, trained on with supervision for about as many gradient computations as PAML's meta-training, then adapted by the same protocol (does PAML win by meta-learning, or by more training?).\n" } ?? "")
        Command: `\(command)` (\(formatDuration(seconds)) on this machine).

        | system | k | adaptation lr | PPL | BLEU | C | personas | held-out dialogues | tokens |
        |---|---:|---:|---:|---:|---:|---:|---:|---:|

        """
        func cell(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "n/a" }
        for row in table {
            md += "| \(row.system) | \(row.k) | " + (row.learningRate.map { "\($0)" } ?? "-") + " | "
                + cell(row.result?.perplexity, "%.2f") + " | " + cell(row.bleu?.score, "%.2f") + " | "
                + cell(row.consistency, "%.3f") + " | " + (row.result.map { "\($0.personas) | \($0.heldOutDialogues) | \($0.tokens)" }
                    ?? "- | - | -") + " |\n"
        }
        md += "\n## Perplexity after k-shot adaptation\n\n| system | " + shots.map { "k=\($0)" }.joined(separator: " | ") + " |\n|---|"
            + shots.map { _ in "---:" }.joined(separator: "|") + "|\n"
        for name in Self.adaptedSystems {
            guard let curve = curves[name] else { continue }
            md += "| \(name) | " + curve.map { String(format: "%.2f", $0.perplexity) }.joined(separator: " | ") + " |\n"
        }
        md += "\nAdaptation learning rate used at each k (k = 0 adapts nothing):\n\n| system | "
            + shots.map { "k=\($0)" }.joined(separator: " | ") + " |\n|---|" + shots.map { _ in "---:" }.joined(separator: "|") + "|\n"
        for name in Self.adaptedSystems {
            guard let used = rates[name] else { continue }
            md += "| \(name) | " + zip(shots, used).map { $0.0 == 0 ? "-" : "\($0.1)" }.joined(separator: " | ") + " |\n"
        }
        md += "\n![k-shot curve](paml_kshot.svg)\n"
        try Data(md.utf8).write(to: folder.appendingPathComponent("paml.md"), options: .atomic)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(curves).write(to: folder.appendingPathComponent("paml_kshot.json"), options: .atomic)
        try writePlot(curves: curves)
        print("wrote \(folder.path)/paml.md, paml_kshot.json, paml_kshot.svg")
    }

    /// The k-shot curve; perplexity on a log10 axis (it spans orders of magnitude between systems and k).
    func writePlot(curves: [String: [KShotProtocol.Result]]) throws {
        let series = Self.adaptedSystems.compactMap { name in
            curves[name].map { (name, $0.map { (Double($0.k), log10($0.perplexity)) }) }
        }
        try Data(lineChartSVG(title: "Perplexity after k-shot adaptation (meta-test personas)", xLabel: "k (dialogues of the persona)",
                              yLabel: "log10 perplexity", series: series).utf8)
            .write(to: URL(fileURLWithPath: out).appendingPathComponent("paml_kshot.svg"), options: .atomic)
    }
}

/// A small dependency-free SVG line chart: one polyline with markers per series, axes with ticks.
func lineChartSVG(title: String, xLabel: String, yLabel: String, series: [(String, [(Double, Double)])]) -> String {
    let (width, height, left, right, top, bottom) = (640.0, 400.0, 70.0, 20.0, 40.0, 60.0)
    let points = series.flatMap(\.1)
    let xs = points.map(\.0), ys = points.map(\.1)
    let (xMin, xMax) = (xs.min() ?? 0, max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
    let pad = ((ys.max() ?? 1) - (ys.min() ?? 0)) * 0.1 + 1e-6
    let (yMin, yMax) = ((ys.min() ?? 0) - pad, (ys.max() ?? 1) + pad)
    func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * (width - left - right) }
    func py(_ y: Double) -> Double { height - bottom - (y - yMin) / (yMax - yMin) * (height - top - bottom) }
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"]
    var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(width / 2)" y="22" text-anchor="middle" font-size="14">\(title)</text>
    <line x1="\(left)" y1="\(height - bottom)" x2="\(width - right)" y2="\(height - bottom)" stroke="black"/>
    <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(height - bottom)" stroke="black"/>
    <text x="\(width / 2)" y="\(height - 15)" text-anchor="middle">\(xLabel)</text>
    <text x="18" y="\(height / 2)" text-anchor="middle" transform="rotate(-90 18 \(height / 2))">\(yLabel)</text>

    """
    for x in Set(xs).sorted() {
        svg += "<text x=\"\(px(x))\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(Int(x))</text>\n"
    }
    for i in 0...4 {
        let y = yMin + Double(i) / 4 * (yMax - yMin)
        svg += "<text x=\"\(left - 8)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">" + String(format: "%.1f", y) + "</text>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(py(y))\" x2=\"\(width - right)\" y2=\"\(py(y))\" stroke=\"#ddd\"/>\n"
    }
    for (index, (name, values)) in series.enumerated() {
        let color = colors[index % colors.count]
        let path = values.map { "\(px($0.0)),\(py($0.1))" }.joined(separator: " ")
        svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
        for (x, y) in values { svg += "<circle cx=\"\(px(x))\" cy=\"\(py(y))\" r=\"4\" fill=\"\(color)\"/>\n" }
        let ly = top + 10 + Double(index) * 18
        svg += "<rect x=\"\(width - right - 260)\" y=\"\(ly - 9)\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
        svg += "<text x=\"\(width - right - 242)\" y=\"\(ly + 1)\">\(name)</text>\n"
    }
    return svg + "</svg>\n"
}
