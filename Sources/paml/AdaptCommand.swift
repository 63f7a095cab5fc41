import ArgumentParser
import Dialogue
import Foundation
import Tensor

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
