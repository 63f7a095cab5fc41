import ArgumentParser
import Foundation
import Autograd
import NN
import Recommender
import Tensor

extension CRSLearner: ExpressibleByArgument {}

/// What every learned-policy command needs: the dataset, its FM embeddings (trained on training users
/// and saved on first use) and the simulator (MetaCRS protocol: sampled interactions, T = 10, an opening
/// attribute, candidates in training-popularity order for the MaxE rule).
struct CRSSetup {
    let dataset: CRSDataset
    let simulator: UserSimulator
    let embeddings: CRSEmbeddings

    /// The shipped checkpoints of a dataset (read only).
    static func shippedRoot(_ dataset: String) -> URL { resolvedInput("Checkpoints/crs-\(dataset)") }
    /// Where this tool trains a dataset's models by default.
    static func runRoot(_ dataset: String) -> URL { URL(fileURLWithPath: "runs/crs-\(dataset)") }

    init(data: DataOptions, dataset name: String, maxTurns: Int = 10) throws {
        let d = try CRSDataset.load(directory: data.corpusRoot.file("crs/\(name)"))
        // The shipped FM embeddings when they exist; else ones trained earlier under runs/, else trained now there.
        let fmFolder = [Self.shippedRoot(name), Self.runRoot(name)].map { $0.appendingPathComponent("fm") }
            .first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
            ?? Self.runRoot(name).appendingPathComponent("fm")
        let fm: FactorizationMachine
        if FileManager.default.fileExists(atPath: fmFolder.appendingPathComponent("config.json").path) {
            fm = try FactorizationMachine.load(from: fmFolder, for: d).model
            print("FM embeddings: \(fmFolder.path)")
        } else {
            print("training FM embeddings (BPR) on \(d.trainUsers.count) training users ...")
            let trainer = FMTrainer(dataset: d, config: FMConfig())
            let (model, reports) = trainer.train { print("  " + $0.line) }
            try model.save(to: fmFolder, config: trainer.config,
                           metadata: ["dataset": name, "heldOutAUC": String(format: "%.4f", reports.last?.heldOutAUC ?? 0)])
            fm = model
        }
        dataset = d
        simulator = UserSimulator(dataset: d, source: .sampled, maxTurns: maxTurns, opensWithAttribute: true,
                                  itemOrder: d.popularityOrder(users: d.trainUsers))
        embeddings = CRSEmbeddings(fm)
    }

    /// Trains (or resumes, or just loads when already done) a learner's checkpoint in `folder`. A complete
    /// `shipped` checkpoint of the same configuration is loaded instead, and never written to.
    func policy(_ learner: CRSLearner, config: CRSTrainingConfig, steps: Int, folder: URL, dataset name: String,
                shipped: URL? = nil, saveEvery: Int = 25, fresh: Bool = false) throws -> Parameters {
        if let shipped, FileManager.default.fileExists(atPath: shipped.appendingPathComponent("config.json").path) {
            let saved = try MetaCRS.loadPolicy(from: shipped)
            if saved.config.training == config, saved.config.learner == learner, saved.step >= steps {
                print("\(learner.rawValue): loaded shipped \(shipped.path) (step \(saved.step))")
                return saved.parameters
            }
        }
        let lock = try FolderLock(folder)
        defer { withExtendedLifetime(lock) {} }
        let engine = MetaCRS(simulator: simulator, embeddings: embeddings, config: config)
        var start: (Parameters, OptimizerState?, Int)?
        if !fresh, FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) {
            let saved = try MetaCRS.loadPolicy(from: folder)
            guard saved.config.training == config, saved.config.learner == learner else {
                throw ValidationError("\(folder.path) holds a different configuration; pass --fresh or another --out")
            }
            if saved.step >= steps {
                print("\(learner.rawValue): loaded \(folder.path) (step \(saved.step))")
                return saved.parameters
            }
            print("\(learner.rawValue): resuming \(folder.path) at step \(saved.step) of \(steps)")
            start = (saved.parameters, saved.optimizer, saved.step)
        }
        let unit = learner == .metacrs ? "users" : "episodes"
        var progress = ProgressReporter(label: "\(learner.rawValue)\(config.model.transGate ? "" : "-no-transgate")",
                                        total: steps, unit: unit, interval: 10)
        var window: [(Double, Double)] = []
        return try engine.train(learner, steps: steps, dataset: name, start: start, folder: folder, saveEvery: saveEvery) { r in
            window.append((r.meanReturn, r.successRate))
            if window.count > 20 { window.removeFirst() }
            let n = Double(window.count)
            let extra = String(format: "return %.3f SR %.3f (last %d steps)",
                               window.reduce(0) { $0 + $1.0 } / n, window.reduce(0) { $0 + $1.1 } / n, window.count)
            let work = Double(learner == .metacrs ? config.usersPerMetaEpoch : config.globalBatch)
            progress.update(step: r.step, loss: r.loss, work: work, extra: r.step % 10 == 0 || r.step == steps ? extra : "")
        }
    }
}

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
        var c = CRSTrainingConfig()
        c.model.width = width
        c.model.hidden = hidden
        c.model.embedding = embedding
        c.model.transGate = transGate
        c.globalBatch = globalBatch
        c.seed = trainSeed
        return c
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
    @Option(help: "lastfm, book or movie.") var dataset = "lastfm"
    @Option(help: "global or metacrs.") var learner: CRSLearner = .metacrs
    @Option(help: "Training steps (MetaCRS: meta-epochs of 5 users; global: batches).") var steps = 200
    @Flag(help: "Ablation: mean pooling instead of TransGate.") var noTransGate = false
    @Option(help: "Run folder (default runs/crs-<dataset>/<learner>[-no-transgate]); rerunning resumes it.") var out: String?
    @OptionGroup var output: OutputOptions
    @Flag(help: "Start from scratch even if --out holds a run.") var fresh = false

    var outFolder: String { out ?? CRSSetup.runRoot(dataset).appendingPathComponent(learner.rawValue + (noTransGate ? "-no-transgate" : "")).path }

    func validate() throws {
        guard ["lastfm", "book", "movie"].contains(dataset) else { throw ValidationError("--dataset must be lastfm, book or movie") }
        try OptionCheck.within(steps, 1...10_000_000, "--steps")
        _ = try output.writable(outFolder)
    }

    func run() throws {
        let folder = try output.writable(outFolder)
        let setup = try CRSSetup(data: data, dataset: dataset)
        let config = model.training(transGate: !noTransGate, embedding: setup.embeddings.dimension)
        let start = Date()
        _ = try setup.policy(learner, config: config, steps: steps, folder: folder, dataset: dataset, fresh: fresh)
        print(String(format: "saved %@ (%.0fs)", folder.path, Date().timeIntervalSince(start)))
    }
}
