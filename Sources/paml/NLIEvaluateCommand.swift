import ArgumentParser
import Foundation
import NLI
import NN

struct NLIEvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Accuracy per class and overall on the SICK test split (markdown table)."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SICKSplitOptions
    @OptionGroup var model: NLIModelOptions

    @OptionGroup var persona: PersonaNLIOptions
    enum EvaluationSet: String, ExpressibleByArgument, CaseIterable { case test, validation, personaTest = "persona-test", personaValid = "persona-valid", real }
    @Option(name: .long, help: "Which set: test or validation (SICK), persona-test or persona-valid (persona NLI), real (the hand-labelled ConvAI2 set).")
    var on: EvaluationSet = .test
    @Option(name: .long, help: "The hand-labelled real set for --on real.")
    var real = "Corpora/persona-nli-real-test.tsv"
    @Flag(name: .long, help: "Record the accuracy in the checkpoint's metadata (accuracy.<set>), where `paml score` prints it; shipped checkpoints need --force.")
    var record = false
    @Option(name: .long, help: "Also write each pair with its gold label, prediction and probabilities to this TSV (error analysis).")
    var predictions: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if record { _ = try output.writable(resolvedInput(model.nliCheckpoint).path, option: "--nli-checkpoint") }
        if let predictions { _ = try output.writable(predictions, option: "--predictions") }
    }

    func run() throws {
        let pairs: [NLIPair]
        switch on {
        case .test, .validation:
            let parts = try split.split(data)
            pairs = on == .test ? parts.test : parts.validation
        case .real:
            pairs = try HandLabelledPersonaNLI.read(resolvedInput(real)).map(\.pair)
        case .personaTest, .personaValid:
            let generated = try persona.load(data)
            pairs = (on == .personaTest ? generated.test : generated.valid).map(\.pair)
        }
        let nli = try model.load()
        let start = Date()
        // One pass of the model: with --predictions the labels are the most probable ones of the written probabilities.
        let inputs = pairs.map { ($0.premise, $0.hypothesis) }
        let probabilities = predictions == nil ? nil : nli.probabilities(inputs)
        let predicted = probabilities?.map { row in NLILabel(rawValue: row.indices.max { row[$0] < row[$1] }!)! } ?? nli.predict(inputs)
        let seconds = Date().timeIntervalSince(start)
        if let predictions, let probabilities { try writePredictions(pairs, predicted, probabilities, to: predictions) }
        let accuracy = NLIAccuracy(gold: pairs.map(\.label), predicted: predicted)
        print("\(on.rawValue) (\(pairs.count) pairs; SICK split seed \(split.splitSeed), persona seed \(persona.personaSeed)), checkpoint \(model.nliCheckpoint):\n")
        print("| class | pairs | accuracy |")
        print("|---|---:|---:|")
        for label in NLILabel.allCases {
            print("| \(label) | \(accuracy.count(label)) | " + String(format: "%.2f%%", 100 * accuracy.accuracy(label)) + " |")
        }
        print("| overall | \(accuracy.total) | " + String(format: "%.2f%%", 100 * accuracy.overall) + " |")
        print("\nconfusion (rows gold, columns predicted; entailment, neutral, contradiction): \(accuracy.confusion)")
        let precision = accuracy.precision(.contradiction)
        print(String(format: "contradiction recall %.2f%%, precision %.2f%%", 100 * accuracy.accuracy(.contradiction), 100 * precision))
        if record {
            let name = on == .test ? "sick-test" : on == .validation ? "sick-valid" : on.rawValue
            var entries = ["accuracy.\(name)": String(format: "%.2f%%", 100 * accuracy.overall)]
            if on == .real {
                entries["accuracy.real-contradiction-recall"] = String(format: "%.2f%%", 100 * accuracy.accuracy(.contradiction))
                entries["accuracy.real-contradiction-precision"] = String(format: "%.2f%%", 100 * precision)
            }
            try Checkpoint.updateMetadata(in: resolvedInput(model.nliCheckpoint), entries)
            print("recorded \(entries.keys.sorted().joined(separator: ", ")) in \(model.nliCheckpoint)/config.json")
        }
        print(String(format: "scored in %.1f s (%.0f pairs/s)", seconds, Double(pairs.count) / seconds))
    }

    /// One line per pair: premise, hypothesis, gold, predicted, and the three probabilities.
    private func writePredictions(_ pairs: [NLIPair], _ predicted: [NLILabel], _ probabilities: [[Float]], to path: String) throws {
        func clean(_ text: String) -> String { text.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }
        var lines = ["premise\thypothesis\tgold\tpredicted\tp_entailment\tp_neutral\tp_contradiction"]
        for (index, pair) in pairs.enumerated() {
            let p = probabilities[index].map { String(format: "%.4f", $0) }.joined(separator: "\t")
            lines.append("\(clean(pair.premise))\t\(clean(pair.hypothesis))\t\(pair.label)\t\(predicted[index])\t\(p)")
        }
        try (lines.joined(separator: "\n") + "\n").write(to: URL(fileURLWithPath: path), atomically: true, encoding: .utf8)
        print("wrote \(pairs.count) predictions to \(path)")
    }
}
