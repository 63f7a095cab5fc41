import ArgumentParser
import Foundation
import Experiments
import Recommender
import Tensor

extension CRSLearner: ExpressibleByArgument {}

/// Model and training options shared by `train` and `experiment`.
struct CRSModelOptions: ParsableArguments {
    @Option(help: "Encoder width C.") var width = 32
    @Option(help: "GRU width H.") var hidden = 64
    @Option(help: "Training seed.") var trainSeed: UInt64 = 1
    @Option(help: "Episodes per update of the global policy.") var globalBatch = 50

    func validate() throws {
        try OptionCheck.within(width, 1...4096, "--width")
        try OptionCheck.within(hidden, 1...4096, "--hidden")
        try OptionCheck.within(globalBatch, 1...100_000, "--global-batch")
        let heads = CRSModelConfig().heads
        guard width % heads == 0 else { throw ValidationError("--width \(width): must be a multiple of the \(heads) TransGate heads") }
    }

    func training(transGate: Bool, embedding: Int = 64) -> CRSTrainingConfig {
        CRSTrainingConfig(width: width, hidden: hidden, embedding: embedding, transGate: transGate, globalBatch: globalBatch, seed: trainSeed)
    }
}

/// `paml recommend train`: train the global (UNICORN-like) or the MetaCRS policy; resumable.
struct RecommendTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a learned CRS policy (global REINFORCE or MetaCRS meta-learning) with resumable checkpoints."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var model: CRSModelOptions
    @Option(help: "lastfm, book or movie.") var dataset: CRSDatasetName = .lastfm
    @Option(help: "global (UR-like), global-memory (the memory control) or metacrs.") var learner: CRSLearner = .metacrs
    @Option(help: "Training steps (MetaCRS: meta-epochs of 5 users; global-memory: 5 users' chained episodes; global: batches).") var steps = 200
    @Flag(help: "Ablation: mean pooling instead of TransGate.") var noTransGate = false
    @Flag(help: "The paper's MetaCRS: no m, β or accepted-item input; information-gain explorer; h_e handed on; one local step per episode.")
    var paperForm = false
    @Flag(help: "Ablation: no m (mean accepted-item embedding) in the state.") var noMean = false
    @Option(help: "Meet the validation users every this many steps and keep the best in <out>/best (0: keep the last).") var selectEvery = 0
    @Option(help: "Run folder (default runs/crs-<dataset>/<learner>[-no-transgate]); rerunning resumes it.") var out: String?
    @OptionGroup var output: OutputOptions
    @Flag(help: "Start from scratch even if --out holds a run.") var fresh = false

    var outFolder: String {
        out ?? "runs/crs-\(dataset.rawValue)/\(learner.rawValue)\(paperForm ? "-paper" : "")\(noMean ? "-no-m" : "")\(noTransGate ? "-no-transgate" : "")"
    }

    func validate() throws {
        try OptionCheck.within(steps, 1...10_000_000, "--steps")
        try OptionCheck.within(selectEvery, 0...10_000_000, "--select-every")
        _ = try output.writable(outFolder)
    }

    func run() throws {
        let folder = try output.writable(outFolder)
        let setup = try CRSSetup(root: data.corpusRoot, dataset: dataset.rawValue, shippedRoot: resolvedInput("Checkpoints/crs-\(dataset.rawValue)"),
                                 runRoot: URL(fileURLWithPath: "runs/crs-\(dataset.rawValue)"), log: { print($0) })
        var config = model.training(transGate: !noTransGate, embedding: setup.embeddings.dimension)
        if paperForm { config = config.paperForm }
        if noMean { config.model.meanAccepted = false }
        let engine = MetaCRS(simulator: setup.simulator, embeddings: setup.embeddings, config: config)
        let selection = selectEvery == 0 ? nil : CRSSelection(users: setup.dataset.validUsers, every: selectEvery, seed: 8,
                                                              evaluation: engine.testProtocol(learner), threads: 2)
        let start = Date()
        _ = try engine.trainOrResume(learner, steps: steps, folder: folder, dataset: dataset.rawValue, fresh: fresh,
                                     selection: selection, log: { print($0) })
        print(String(format: "saved %@ (%.0fs)", folder.path, Date().timeIntervalSince(start)))
    }
}
