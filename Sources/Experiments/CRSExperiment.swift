import Foundation
import Autograd
import Metrics
import NLI
import Recommender
import SpokenRecommender
import Tensor
import Text

/// Settings of the CRS experiment; saved next to its output.
public struct CRSExperimentConfig: Codable, Sendable {
    /// Corpora folder.
    public var data: String
    public var datasets = ["lastfm"]
    /// Meta-epochs of MetaCRS (5 users each), batches of the UR-like global policy, meta-epochs of the
    /// no-TransGate ablation (0 skips it).
    public var metaSteps = 200
    public var globalSteps = 100
    public var noTransGateSteps = 200
    /// Steps (5 users' chained episodes each) of the Global+memory control, meta-epochs of the paper-form
    /// MetaCRS and of the MetaCRS-without-m ablation (0 skips a row).
    public var globalMemorySteps = 250
    public var paperSteps = 300
    public var noMeanSteps = 200
    /// Validation users are met every `selectEvery` steps by Global+memory and paper-form MetaCRS; the best is kept.
    public var selectEvery = 25
    /// Evaluation seed (sessions of every test user); validation uses seed + 1.
    public var seed: UInt64 = 7
    public var threads = 2
    public var supportSizes = [0, 2, 5, 10]
    public var benchmarkEpisodes = 10_000
    /// Bootstrap resamples of the test users for every interval.
    public var resamples = 2000
    /// Datasets whose policies also meet the RecSim-style users (robustness table).
    public var robustnessDatasets = ["lastfm"]
    /// NLI checkpoint and MiniLM folder of the reply reader for users who answer in words (nil: rules only).
    public var replyNLI: String?
    public var replyMiniLM: String?
    public var width = 32
    public var hidden = 64
    public var trainSeed: UInt64 = 1
    public var globalBatch = 50
    /// Folder holding the shipped crs-<dataset> checkpoints (read only) and the folder this run trains in.
    public var shippedRoot: String
    public var runRoot = "runs"

    public init(data: String, shippedRoot: String) {
        self.data = data
        self.shippedRoot = shippedRoot
    }

    public func training(transGate: Bool, embedding: Int = 64) -> CRSTrainingConfig {
        CRSTrainingConfig(width: width, hidden: hidden, embedding: embedding, transGate: transGate, globalBatch: globalBatch, seed: trainSeed)
    }
}

/// One method's query-episode results, with 95% bootstrap intervals over test users.
public struct CRSRow: Codable, Sendable {
    public var method: String
    public var successRate: Double
    public var averageTurns: Double
    public var meanReturn: Double
    public var episodes: Int
    public var successInterval: BootstrapInterval?
    public var turnsInterval: BootstrapInterval?
}
/// A paired difference (a - b) over the same test users.
public struct CRSComparison: Codable, Sendable {
    public var a: String
    public var b: String
    public var question: String
    public var successDifference: BootstrapInterval
    public var turnsDifference: BootstrapInterval
}
/// One user model's rows (the robustness table).
public struct CRSRobustnessRow: Codable, Sendable {
    public var condition: String
    public var rows: [CRSRow]
}
public struct CRSSupportPoint: Codable, Sendable { public var method: String; public var adaptationEpisodes: Int; public var successRate: Double; public var averageTurns: Double }
public struct CRSDatasetResult: Codable, Sendable {
    public var dataset: String; public var testUsers: Int; public var rows: [CRSRow]; public var support: [CRSSupportPoint]
    public var benchmarkEpisodes: Int; public var benchmarkSeconds: Double; public var benchmarkThreads: Int
    public var benchmarkSuccessRate: Double
    public var trainingSeconds: [String: Double]
    public var comparisons: [CRSComparison]
    public var robustness: [CRSRobustnessRow]
    /// Validation-selected step of each selected method.
    public var selectedSteps: [String: Int]
}
public struct CRSExperimentReport: Codable, Sendable {
    public var command: String; public var seed: UInt64; public var model: CRSModelConfig; public var results: [CRSDatasetResult]
    public var supportSizes: [Int]
    public var config: CRSExperimentConfig
}

/// `paml recommend experiment`: trains (or loads) every learned method, evaluates every method on the test users' query
/// episodes with one seed, and reports SR@10 / AT with bootstrap intervals, paired comparisons, ablations, the
/// support-size curve, a robustness table under RecSim-style users and a benchmark.
public struct CRSExperiment {
    public var config: CRSExperimentConfig
    public init(config: CRSExperimentConfig) { self.config = config }

    public func run(command: String, progress: (String) -> Void) throws -> CRSExperimentReport {
        var results: [CRSDatasetResult] = []
        for name in config.datasets { results.append(try experiment(name, progress: progress)) }
        return CRSExperimentReport(command: command, seed: config.seed, model: config.training(transGate: true).model,
                                   results: results, supportSizes: config.supportSizes, config: config)
    }

    /// crs.md, crs.json and crs-support.svg, by file name.
    public static func reportFiles(_ report: CRSExperimentReport) throws -> [String: Data] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return ["crs.json": try encoder.encode(report), "crs.md": Data(markdown(report).utf8),
                "crs-support.svg": Data(supportPlot(report.results).utf8)]
    }

    /// The paper's figures (MetaCRS Tables 2 and 3) under the key of our row that does what the paper's does.
    public static let paper: [String: [String: (Double, Double)]] = [
        "lastfm": ["maxe": (0.137, 9.71), "ur": (0.641, 7.02), "ur-ft": (0.613, 7.19), "ur-ia": (0.678, 6.85),
                   "metacrs-paper": (0.713, 6.18), "metacrs-paper-no-adapt": (0.632, 6.68),
                   "metacrs-paper-no-explore": (0.677, 6.64), "metacrs-no-transgate": (0.678, 6.41)],
        "book": ["maxe": (0.206, 9.64), "ur": (0.384, 8.55), "ur-ft": (0.417, 8.54), "ur-ia": (0.420, 8.41),
                 "metacrs-paper": (0.487, 8.06), "metacrs-paper-no-adapt": (0.378, 8.56),
                 "metacrs-paper-no-explore": (0.411, 8.37), "metacrs-no-transgate": (0.428, 8.51)],
        "movie": ["maxe": (0.262, 9.46), "ur": (0.681, 7.00), "ur-ft": (0.677, 7.14), "ur-ia": (0.704, 6.88),
                  "metacrs-paper": (0.745, 6.27), "metacrs-paper-no-adapt": (0.630, 7.31),
                  "metacrs-paper-no-explore": (0.738, 6.65), "metacrs-no-transgate": (0.724, 6.95)],
    ]
    public static let methods: [(key: String, label: String)] = [
        ("maxe", "MaxE (max-entropy rule)"),
        ("ur", "UR-like: TransGate + state-aware recommender, REINFORCE on independent episodes (memory reset every episode)"),
        ("ur-ft", "UR-FT (ours: per-user fine-tuning, 3 SGD steps over the 15 support episodes; the paper pools all new users)"),
        ("ur-ia", "UR-IA (per-user SGD step after each of the 15 support episodes, memory carried)"),
        ("global-memory", "Global+memory control: our network and memory features, REINFORCE on chained episodes of one user, no adaptation"),
        ("metacrs", "**MetaCRS, ours** (+ m, β, accepted-item GRU input)"),
        ("metacrs-no-m", "MetaCRS, ours, without m (retrained)"),
        ("metacrs-no-adapt", "MetaCRS, ours, w/o adaptation"),
        ("metacrs-no-explore", "MetaCRS, ours, w/o exploration"),
        ("metacrs-no-repeat", "MetaCRS, ours, with β = 0"),
        ("metacrs-no-transgate", "MetaCRS, ours, w/o TransGate (retrained)"),
        ("metacrs-paper", "**MetaCRS, paper form** (no m, no β, no item input; information-gain explorer; h_e handed on; 1 step per episode)"),
        ("metacrs-paper-no-adapt", "MetaCRS, paper form, w/o adaptation"),
        ("metacrs-paper-no-explore", "MetaCRS, paper form, w/o exploration"),
    ]
    /// The paired comparisons reported, each with the question it answers.
    public static let comparisons: [(a: String, b: String, question: String)] = [
        ("metacrs", "global-memory", "meta-learning beyond memory (same network, same memory features)"),
        ("global-memory", "ur", "what the memory features are worth without meta-learning"),
        ("metacrs", "metacrs-no-m", "what m is worth to MetaCRS"),
        ("metacrs-paper", "ur", "the paper's claim: MetaCRS over UR"),
        ("metacrs-paper", "ur-ia", "the paper's claim: MetaCRS over UR-IA (its best baseline)"),
        ("metacrs-paper", "metacrs-paper-no-adapt", "local adaptation, paper form"),
        ("metacrs-paper", "metacrs-paper-no-explore", "exploration, paper form"),
        ("metacrs", "metacrs-paper", "our memory features over the paper's form"),
    ]
    /// Methods of the robustness table.
    public static let robustMethods = ["maxe", "ur", "ur-ft", "ur-ia", "global-memory", "metacrs", "metacrs-paper"]

    /// A learned method's evaluation: its engine (simulator and config), parameters and protocol.
    struct Evaluation {
        var engine: MetaCRS
        var parameters: Parameters
        var evaluation: CRSProtocol
    }

    func experiment(_ name: String, progress: (String) -> Void) throws -> CRSDatasetResult {
        let root = URL(fileURLWithPath: config.runRoot).appendingPathComponent("crs-\(name)")
        let shipped = URL(fileURLWithPath: config.shippedRoot).appendingPathComponent("crs-\(name)")
        let setup = try CRSSetup(root: CorpusRoot(explicit: config.data), dataset: name, shippedRoot: shipped, runRoot: root, log: progress)
        let training = config.training(transGate: true, embedding: setup.embeddings.dimension)
        var ablationConfig = training
        ablationConfig.model.transGate = false
        var noMeanConfig = training
        noMeanConfig.model.meanAccepted = false
        let paperConfig = training.paperForm
        func engine(_ c: CRSTrainingConfig) -> MetaCRS { MetaCRS(simulator: setup.simulator, embeddings: setup.embeddings, config: c) }
        let ours = engine(training)
        let test = setup.dataset.testUsers
        let full = ours.testProtocol(.metacrs)
        let paperFull = engine(paperConfig).testProtocol(.metacrs)
        // Methods without an explorer meet all 15 support sessions (the paper gives UR-FT / UR-IA 15 episodes).
        let support = training.explorationEpisodes + training.adaptationEpisodes
        let memoryOnly = ours.testProtocol(.globalMemory)

        var trainingSeconds: [String: Double] = [:]
        var selectedSteps: [String: Int] = [:]
        func trained(_ key: String, _ learner: CRSLearner, _ c: CRSTrainingConfig, steps: Int, selectWith: CRSProtocol?) throws -> Parameters? {
            guard steps > 0 else { return nil }
            let start = Date()
            defer { trainingSeconds[key] = Date().timeIntervalSince(start) }
            let selection = selectWith.map {
                CRSSelection(users: setup.dataset.validUsers, every: config.selectEvery, seed: config.seed &+ 1, evaluation: $0,
                             threads: config.threads)
            }
            let folder = root.appendingPathComponent(key)
            let p = try engine(c).trainOrResume(learner, steps: steps, folder: folder, dataset: name,
                                                shipped: shipped.appendingPathComponent(key), selection: selection, log: progress)
            if selection != nil {
                let best = [shipped, root].map { $0.appendingPathComponent(key).appendingPathComponent("best") }
                    .first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
                if let best { selectedSteps[key] = try MetaCRS.loadPolicy(from: best).step }
            }
            return p
        }
        let global = try trained("global", .global, training, steps: config.globalSteps, selectWith: nil)!
        let meta = try trained("metacrs", .metacrs, training, steps: config.metaSteps, selectWith: nil)!
        let ablation = try trained("metacrs-no-transgate", .metacrs, ablationConfig, steps: config.noTransGateSteps, selectWith: nil)
        let globalMemory = try trained("global-memory", .globalMemory, training, steps: config.globalMemorySteps, selectWith: memoryOnly)
        let noMean = try trained("metacrs-no-m", .metacrs, noMeanConfig, steps: config.noMeanSteps, selectWith: nil)
        let paper = try trained("metacrs-paper", .metacrs, paperConfig, steps: config.paperSteps, selectWith: paperFull)

        var evaluations: [(key: String, Evaluation?)] = [("maxe", nil)]
        func add(_ key: String, _ c: CRSTrainingConfig, _ p: Parameters?, _ evaluation: CRSProtocol) {
            if let p { evaluations.append((key, Evaluation(engine: engine(c), parameters: p, evaluation: evaluation))) }
        }
        add("ur", training, global, ours.testProtocol(.global))
        add("ur-ft", training, global, CRSProtocol(adaptationEpisodes: support, adaptSteps: true, stepEvery: training.adaptationChunk,
                                                   carryMemory: false, adaptationStart: 0))
        add("ur-ia", training, global, CRSProtocol(adaptationEpisodes: support, adaptSteps: true, stepEvery: 1, carryMemory: true,
                                                   adaptationStart: 0))
        add("global-memory", training, globalMemory, memoryOnly)
        add("metacrs", training, meta, full)
        add("metacrs-no-m", noMeanConfig, noMean, full)
        /// A protocol with its local steps or its exploration switched off (the evaluation-only ablations).
        func without(_ p: CRSProtocol, adaptation: Bool = false, exploration: Bool = false) -> CRSProtocol {
            var q = p
            if adaptation { q.adaptSteps = false }
            if exploration { q.explore = false }
            return q
        }
        add("metacrs-no-adapt", training, meta, without(full, adaptation: true))
        add("metacrs-no-explore", training, meta, without(full, exploration: true))
        var noRepeat = meta
        noRepeat["task.repeatBonus"] = Tensor(zeros: [1, 1])
        add("metacrs-no-repeat", training, noRepeat, full)
        add("metacrs-no-transgate", ablationConfig, ablation, full)
        add("metacrs-paper", paperConfig, paper, paperFull)
        add("metacrs-paper-no-adapt", paperConfig, paper, without(paperFull, adaptation: true))
        add("metacrs-paper-no-explore", paperConfig, paper, without(paperFull, exploration: true))

        /// Per-user query metrics of a method under a simulator (the user model) and thread count.
        func measure(_ key: String, _ e: Evaluation?, simulator: UserSimulator, threads: Int) -> [CRSMetrics] {
            guard let e else {
                return MetaCRS(simulator: simulator, embeddings: setup.embeddings, config: training).evaluateMaxEntropy(users: test, seed: config.seed)
            }
            let engine = MetaCRS(simulator: simulator, embeddings: setup.embeddings, config: e.engine.config)
            return engine.evaluatePerUser(e.parameters, users: test, seed: config.seed, protocol: e.evaluation, threads: threads)
        }
        var perUser: [String: [CRSMetrics]] = [:]
        var rows: [CRSRow] = []
        for (key, e) in evaluations {
            let start = Date()
            let users = measure(key, e, simulator: setup.simulator, threads: config.threads)
            perUser[key] = users
            let row = self.row(key, users)
            rows.append(row)
            progress(String(format: "%@ %-26@ SR@10 %.4f [%.3f, %.3f]  AT %.3f  (%d episodes, %.0fs)", name, key, row.successRate,
                            row.successInterval?.lower ?? 0, row.successInterval?.upper ?? 0, row.averageTurns, row.episodes,
                            Date().timeIntervalSince(start)))
        }
        let comparisons = Self.comparisons.compactMap { c -> CRSComparison? in
            guard let a = perUser[c.a], let b = perUser[c.b] else { return nil }
            return CRSComparison(a: c.a, b: c.b, question: c.question,
                                 successDifference: Bootstrap.pairedDifference(successes(a), successes(b), resamples: config.resamples, seed: config.seed),
                                 turnsDifference: Bootstrap.pairedDifference(turns(a), turns(b), resamples: config.resamples, seed: config.seed))
        }

        var supportPoints: [CRSSupportPoint] = []
        for k in config.supportSizes {
            var p = full
            p.adaptationEpisodes = k
            let ft = CRSProtocol(adaptationEpisodes: k, adaptSteps: true, stepEvery: training.adaptationChunk, carryMemory: false)
            for (method, params, proto) in [("metacrs", meta, p), ("ur-ft", global, ft)] {
                let m = ours.evaluate(params, users: test, seed: config.seed, protocol: proto, threads: config.threads).measure()
                supportPoints.append(CRSSupportPoint(method: method, adaptationEpisodes: k, successRate: m.successRate, averageTurns: m.averageTurns))
                progress(String(format: "%@ support %2d %-10@ SR@10 %.4f AT %.3f", name, k, method, m.successRate, m.averageTurns))
            }
        }

        var robustness: [CRSRobustnessRow] = []
        if config.robustnessDatasets.contains(name) {
            for (condition, simulator, threads) in try robustnessConditions(setup.simulator) {
                var conditionRows: [CRSRow] = []
                for (key, e) in evaluations where Self.robustMethods.contains(key) {
                    if condition == "exact", let same = rows.first(where: { $0.method == key }) {
                        conditionRows.append(same)   // the main table's run: the same users and sessions
                        continue
                    }
                    let start = Date()
                    let row = self.row(key, measure(key, e, simulator: simulator, threads: threads))
                    conditionRows.append(row)
                    progress(String(format: "%@ users %-14@ %-16@ SR@10 %.4f  AT %.3f  (%.0fs)", name, condition, key,
                                    row.successRate, row.averageTurns, Date().timeIntervalSince(start)))
                }
                robustness.append(CRSRobustnessRow(condition: condition, rows: conditionRows))
            }
        }

        let start = Date()
        let bench = ours.simulate(meta, users: test, episodes: config.benchmarkEpisodes, seed: config.seed, threads: config.threads)
        let seconds = Date().timeIntervalSince(start)
        progress(String(format: "%@ benchmark: %d episodes of the learned policy in %.1fs on %d threads (SR@10 %.3f)",
                        name, config.benchmarkEpisodes, seconds, config.threads, bench.measure().successRate))
        return CRSDatasetResult(dataset: name, testUsers: ours.eligible(test).count, rows: rows, support: supportPoints,
                                benchmarkEpisodes: config.benchmarkEpisodes, benchmarkSeconds: seconds, benchmarkThreads: config.threads,
                                benchmarkSuccessRate: bench.measure().successRate, trainingSeconds: trainingSeconds,
                                comparisons: comparisons, robustness: robustness, selectedSteps: selectedSteps)
    }

    /// The user models of the robustness table: (name, simulator, evaluation threads).
    func robustnessConditions(_ base: UserSimulator) throws -> [(String, UserSimulator, Int)] {
        func with(_ model: CRSUserModel) -> UserSimulator {
            var s = base
            s.userModel = model
            return s
        }
        var conditions: [(String, UserSimulator, Int)] = [
            ("exact", base, config.threads),
            ("noise 0.1", with(CRSUserModel(answerNoise: 0.1)), config.threads),
            ("noise 0.2", with(CRSUserModel(answerNoise: 0.2)), config.threads),
            ("logit choice", with(CRSUserModel(choice: LogitChoice())), config.threads),
            ("patience", with(CRSUserModel(quitSlope: 0.05)), config.threads),
        ]
        var nli: NLIModel?
        if let checkpoint = config.replyNLI, let pretrained = config.replyMiniLM {
            nli = try NLIModel(checkpoint: URL(fileURLWithPath: checkpoint), pretrained: URL(fileURLWithPath: pretrained))
        }
        var words = base
        words.channel = WordedAnswers(reader: ReplyReader(nli: nli), dataset: base.dataset)
        conditions.append(("words", words, nli == nil ? config.threads : 1))
        return conditions
    }

    func row(_ key: String, _ users: [CRSMetrics]) -> CRSRow {
        let m = users.merged().measure()
        return CRSRow(method: key, successRate: m.successRate, averageTurns: m.averageTurns, meanReturn: m.meanReward,
                      episodes: users.merged().episodes,
                      successInterval: Bootstrap.ratio(successes(users), resamples: config.resamples, seed: config.seed),
                      turnsInterval: Bootstrap.ratio(turns(users), resamples: config.resamples, seed: config.seed))
    }

    func successes(_ users: [CRSMetrics]) -> RatioSample {
        RatioSample(numerators: users.map { Double($0.successes) }, denominators: users.map { Double($0.episodes) })
    }

    func turns(_ users: [CRSMetrics]) -> RatioSample {
        RatioSample(numerators: users.map { Double($0.turns) }, denominators: users.map { Double($0.episodes) })
    }

    static func interval(_ i: BootstrapInterval?, digits: Int) -> String {
        guard let i else { return "" }
        return String(format: " [%.\(digits)f, %.\(digits)f]", i.lower, i.upper)
    }

    public static func markdown(_ report: CRSExperimentReport) -> String {
        let supportSizes = report.supportSizes
        let c = report.config
        var md = """
        # Conversational recommendation (MetaCRS) — measured results

        Generated by `\(report.command)` (evaluation seed \(report.seed); validation users seed \(report.seed + 1); \
        training seed \(c.trainSeed)); rerun the same command to reproduce (trained policies are loaded from \
        `Checkpoints/crs-<dataset>/` when complete, else trained or resumed under `runs/crs-<dataset>/`). \
        Brackets are 95% percentile-bootstrap intervals over test users (\(c.resamples) resamples).

        **Protocol.** Data: `<corpora>/crs/<dataset>` (MetaCRS release), cold-start user split user_{train,valid,test}.json;
        FM embeddings (BPR, D = 64) trained on training users only. Simulator: user-centric (P_u ∩ P_v confirms),
        targets from interaction.csv (40 sampled interactions per user), T = 10 turns, K_rec = 10, the user opens with
        one attribute of P_u ∩ P_v, rewards rec_suc 1, rec_fail -0.1, ask_suc 0.1, ask_fail -0.1, quit -0.3.
        Every test user with interactions meets 25 sessions (episode j seeded by (seed, 64u + j)): 15 support sessions
        (MetaCRS: 0–4 exploration, 5–14 adaptation; methods without an explorer adapt on all 15, as the paper's UR-FT /
        UR-IA do), then 15–24 query. **SR@10 and AT are measured on the 10 query episodes of every test user** (greedy
        actions); every method meets the same query sessions. Networks: TransGate encoder (width \(report.model.width)),
        GRU (width \(report.model.hidden)) whose state carries across one user's episodes (as in the paper), state-aware
        recommender w_v = e_v · (W s + b), action space top-10 entropy attributes + top-10 items, REINFORCE with
        γ = 0.999 and normalised returns as the baseline, plus the recommender's cross-entropy on turns whose target is
        known. Meta-training: first-order, 5 users per meta-epoch, meta Adam lr 0.005, L2 1e-6, local SGD lr 0.01.

        **Which rows are which.** Our former "Global" has TransGate and the state-aware recommender, so it is the paper's
        **UR** ("UNICORN with our TransGate and state-based item recommender"), not UNICORN; the paper's UR rows stand
        beside it. **MetaCRS, ours** adds three cross-session memory features the paper does not have: m (the mean
        embedding of the items this user accepted, in the state), β (a learned bonus for items this user accepted
        before) and the accepted item's embedding as a GRU input; its explorer is rewarded for confirmed attributes and
        accepted items, its task GRU starts from zeros, and it makes one local step per 5 adaptation episodes.
        **MetaCRS, paper form** has none of the three, the paper's information-gain explorer
        (r_e = log P(e_u | h_t+1) − log P(e_u | h_t), P a softmax over training users' FM embeddings, plus the
        identification loss), hands the explorer's last state h_e to the task policy, makes one local SGD step per
        adaptation episode, and its meta-epoch is chosen on validation users (every \(c.selectEvery) of \(c.paperSteps)).
        **Global+memory** is the control that separates memory from meta-learning: our network with all three memory
        features, trained by REINFORCE on chains of one user's 20 episodes with the memory carried (\(c.globalMemorySteps)
        steps of 5 users, chosen on validation users), evaluated after playing the user's 15 support sessions with
        the memory carried and no gradient step. The UR rows, MetaCRS-ours and its retrained ablations are not
        validation-selected (last step), as before.


        """
        for r in report.results {
            let paper = Self.paper[r.dataset] ?? [:]
            md += "## \(r.dataset) (\(r.testUsers) test users, \(r.rows.first?.episodes ?? 0) query episodes per method)\n\n"
            md += "| method | SR@10 [95% CI] | AT [95% CI] | mean return | paper SR@10 / AT (the paper's, not measured here) |\n|---|---|---|---|---|\n"
            for row in r.rows {
                let label = Self.methods.first { $0.key == row.method }?.label ?? row.method
                let ref = paper[row.method].map { String(format: "%.3f / %.2f", $0.0, $0.1) } ?? "—"
                md += String(format: "| %@ | %.3f%@ | %.2f%@ | %.3f | %@ |\n", label, row.successRate,
                             interval(row.successInterval, digits: 3), row.averageTurns, interval(row.turnsInterval, digits: 2),
                             row.meanReturn, ref)
            }
            if !r.selectedSteps.isEmpty {
                md += "\nValidation-selected steps: " + r.selectedSteps.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ".\n"
            }
            md += "\n**Paired differences** (same test users resampled together; a difference is real when its interval excludes 0):\n\n"
            md += "| a − b | question | ΔSR@10 [95% CI] | ΔAT [95% CI] | verdict |\n|---|---|---|---|---|\n"
            for c in r.comparisons {
                let s = c.successDifference, t = c.turnsDifference
                let verdict = s.excludes(0) ? (s.estimate > 0 ? "a higher SR, real" : "a lower SR, real")
                    : "no SR difference shown"
                md += String(format: "| %@ − %@ | %@ | %+.3f [%+.3f, %+.3f] | %+.2f [%+.2f, %+.2f] | %@ |\n", c.a, c.b, c.question,
                             s.estimate, s.lower, s.upper, t.estimate, t.lower, t.upper, verdict)
            }
            if !r.robustness.isEmpty {
                md += "\n**Robustness: the same trained policies under RecSim-style users** (SR@10 / AT on the same query sessions):\n\n"
                md += "| users | " + Self.robustMethods.joined(separator: " | ") + " |\n|---|" + Self.robustMethods.map { _ in "---" }.joined(separator: "|") + "|\n"
                for condition in r.robustness {
                    md += "| \(condition.condition) | " + Self.robustMethods.map { key in
                        condition.rows.first { $0.method == key }.map { String(format: "%.3f / %.2f", $0.successRate, $0.averageTurns) } ?? "—"
                    }.joined(separator: " | ") + " |\n"
                }
                md += """

                Users: **exact** = the MetaCRS user; **noise ε** = each attribute answer flipped with probability ε; \
                **logit choice** = the user takes an item from the list by a multinomial logit on affinity (utility = \
                |P_u ∩ P_v| / |P_v| + 2·[one of the user's items] + 6·[the target], no-choice utility 5), success = any item taken; \
                **patience** = after the f-th failed turn the user quits with probability 0.05·f; **words** = every answer \
                is a sentence (plain 40%, chatty 40%, vague 20%) read back by the reply reader (rules, then the NLI model \
                for what they leave unclear); unclear counts as no, and a refusal read as a yes ends the session as a failure.
                Policies were trained with the exact user only.

                """
            }
            md += "\nSupport-set size (adaptation episodes before the query episodes; MetaCRS also explores 5 episodes first):\n\n"
            md += "| adaptation episodes | " + supportSizes.map(String.init).joined(separator: " | ") + " |\n"
            md += "|---|" + supportSizes.map { _ in "---" }.joined(separator: "|") + "|\n"
            for method in ["metacrs", "ur-ft"] {
                let points = r.support.filter { $0.method == method }
                md += "| \(method) SR@10 | " + points.map { String(format: "%.3f", $0.successRate) }.joined(separator: " | ") + " |\n"
            }
            md += "\n![SR@10 vs support-set size](crs-support.svg)\n\n"
            let seconds = r.trainingSeconds.map { "\($0.key) \(Int($0.value)) s" }.sorted().joined(separator: ", ")
            md += String(format: "Benchmark: %d independent episodes of the learned MetaCRS task policy (greedy, no gradients, memory reset every episode, test users) in **%.1f s** on %d threads, wall time (other jobs may have shared the machine; goal < 60 s on 2 cores; SR@10 of these memory-less episodes %.3f).\n",
                         r.benchmarkEpisodes, r.benchmarkSeconds, r.benchmarkThreads, r.benchmarkSuccessRate)
            md += "Training or loading wall time in this run (a few seconds = loaded from the shipped checkpoints): \(seconds).\n\n"
        }
        return md
    }

    /// SR@10 against the number of adaptation episodes, one line per (dataset, method).
    public static func supportPlot(_ results: [CRSDatasetResult]) -> String {
        let series = results.flatMap { r in
            ["metacrs", "ur-ft"].compactMap { method -> (String, [(Double, Double)])? in
                let points = r.support.filter { $0.method == method }
                return points.isEmpty ? nil : ("\(r.dataset) \(method)", points.map { (Double($0.adaptationEpisodes), $0.successRate) })
            }
        }
        return lineChartSVG(title: "SR@10 vs support-set size (test users)", xLabel: "adaptation episodes", yLabel: "SR@10", series: series)
    }
}
