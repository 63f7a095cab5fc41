import ArgumentParser
import Foundation
import Tensor
import Text
import Experiments
import Recommender
import SpokenRecommender

/// `paml recommend experiment`: trains (or loads) every learned method, evaluates every method on the
/// test users' query episodes with one seed, and writes Evaluation/crs.md, crs.json and crs-support.svg.
struct RecommendExperiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Train/load and evaluate MaxE, UR-like, UR-FT, UR-IA, Global+memory, MetaCRS (ours and paper form) and ablations; write Evaluation/crs.*.",
        discussion: """
        Every row has 95% bootstrap intervals over test users, and the paired differences that decide the comparisons         are reported with theirs. On the --robustness-dataset datasets the trained policies also meet RecSim-style users         (noisy answers, a logit chooser, impatience, answers in words read back by the reply reader).
        """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var model: CRSModelOptions
    @OptionGroup var speech: ReaderOptions
    @Option(name: .customLong("dataset"), help: "Datasets (repeatable): lastfm, book, movie.") var datasets: [CRSDatasetName] = [.lastfm]
    @Option(help: "Meta-epochs of MetaCRS (5 users each).") var metaSteps = 200
    @Option(help: "Batches of the global policy.") var globalSteps = 100
    @Option(help: "Meta-epochs of the no-TransGate ablation (0 skips it).") var noTransGateSteps = 200
    @Option(help: "Steps (5 users' chained episodes each) of the Global+memory control (0 skips it).") var globalMemorySteps = 250
    @Option(help: "Meta-epochs of the paper-form MetaCRS (0 skips it).") var paperSteps = 300
    @Option(help: "Meta-epochs of MetaCRS without m (0 skips it).") var noMeanSteps = 200
    @Option(help: "Validation users meet Global+memory and paper-form MetaCRS every this many steps; the best is kept.") var selectEvery = 25
    @Option(help: "Bootstrap resamples of the test users per interval.") var resamples = 2000
    @Option(name: .customLong("robustness-dataset"), help: "Datasets whose policies also meet the RecSim-style users (repeatable).")
    var robustnessDatasets: [CRSDatasetName] = [.lastfm]
    @Option(help: "Evaluation seed (sessions of every test user).") var seed: UInt64 = 7
    @Option(help: "Threads for evaluation (over users) and the benchmark.") var threads = 2
    @Option(help: "Support-set sizes (adaptation episodes) for the curve.") var supportSizes: [Int] = [0, 2, 5, 10]
    @Option(help: "Episodes of the simulation benchmark.") var benchmarkEpisodes = 10_000
    @Option(help: "Output folder for crs.md, crs.json, crs-support.svg (Evaluation needs --force).") var out = "runs/crs-experiment"
    @OptionGroup var output: OutputOptions
    @Flag(help: "Only rewrite crs.md and crs-support.svg from the crs.json in the output folder.") var markdownOnly = false

    func validate() throws {
        try OptionCheck.within(metaSteps, 1...10_000_000, "--meta-steps")
        try OptionCheck.within(globalSteps, 1...10_000_000, "--global-steps")
        try OptionCheck.within(noTransGateSteps, 0...10_000_000, "--no-trans-gate-steps")
        try OptionCheck.within(globalMemorySteps, 0...10_000_000, "--global-memory-steps")
        try OptionCheck.within(paperSteps, 0...10_000_000, "--paper-steps")
        try OptionCheck.within(noMeanSteps, 0...10_000_000, "--no-mean-steps")
        try OptionCheck.within(selectEvery, 1...10_000_000, "--select-every")
        try OptionCheck.within(resamples, 2...1_000_000, "--resamples")
        try OptionCheck.within(threads, 1...256, "--threads")
        try OptionCheck.within(benchmarkEpisodes, 1...100_000_000, "--benchmark-episodes")
        guard !supportSizes.isEmpty, supportSizes.allSatisfy({ (0...1000).contains($0) }) else {
            throw ValidationError("--support-sizes needs one or more sizes in 0...1000")
        }
        _ = try output.writable(out)
    }

    func run() throws {
        let folder = try output.writable(out)
        let lock = try FolderLock(folder)
        defer { withExtendedLifetime(lock) {} }
        if markdownOnly {
            let file = folder.appendingPathComponent("crs.json")
            var report = try JSONDecoder().decode(CRSExperimentReport.self, from: TextFile.data(file))
            report.supportSizes = supportSizes
            let files = try CRSExperiment.reportFiles(report).filter { $0.key != "crs.json" }
            for (name, data) in files { try data.write(to: folder.appendingPathComponent(name), options: .atomic) }
            print("rewrote \(folder.path)/crs.md and crs-support.svg from \(file.path)")
            return
        }
        var config = CRSExperimentConfig(data: data.corpusRoot.url.path, shippedRoot: resolvedInput("Checkpoints").path)
        config.datasets = datasets.map(\.rawValue)
        (config.metaSteps, config.globalSteps, config.noTransGateSteps) = (metaSteps, globalSteps, noTransGateSteps)
        (config.globalMemorySteps, config.paperSteps, config.noMeanSteps) = (globalMemorySteps, paperSteps, noMeanSteps)
        (config.selectEvery, config.resamples, config.robustnessDatasets) = (selectEvery, resamples, robustnessDatasets.map(\.rawValue))
        if let folders = speech.nliFolders() { (config.replyNLI, config.replyMiniLM) = (folders.checkpoint.path, folders.pretrained.path) }
        (config.seed, config.threads, config.supportSizes, config.benchmarkEpisodes) = (seed, threads, supportSizes, benchmarkEpisodes)
        (config.width, config.hidden, config.trainSeed, config.globalBatch) = (model.width, model.hidden, model.trainSeed, model.globalBatch)
        let report = try CRSExperiment(config: config).run(command: "paml " + CommandLine.arguments.dropFirst().joined(separator: " "),
                                                           progress: { print($0) })
        try writeReport(try CRSExperiment.reportFiles(report), config: config, to: folder, job: "crs")
    }
}
