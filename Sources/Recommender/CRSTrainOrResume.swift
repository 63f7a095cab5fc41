import Foundation
import Autograd
import NN
import Tensor

/// Model selection on validation users: every `every` steps the policy meets `users` under `protocol`
/// (the way it will be tested) and the best SR@10 so far is kept in `<folder>/best`.
public struct CRSSelection: Sendable {
    public var users: [Int]
    public var every: Int
    public var seed: UInt64
    public var evaluation: CRSProtocol
    public var threads: Int

    public init(users: [Int], every: Int, seed: UInt64, evaluation: CRSProtocol, threads: Int) {
        self.users = users
        self.every = every
        self.seed = seed
        self.evaluation = evaluation
        self.threads = threads
    }
}

extension MetaCRS {
    /// Trains, resumes or just loads a learner's checkpoint in `folder`: a run there of the same configuration
    /// continues (or is returned when it has `steps`); another configuration is refused unless `fresh`. A complete
    /// `shipped` checkpoint of the same configuration is loaded instead and never written to. With `selection`,
    /// the returned parameters are the validation-best ones (`<folder>/best`), not the last.
    public func trainOrResume(_ learner: CRSLearner, steps: Int, folder: URL, dataset name: String, shipped: URL? = nil,
                              saveEvery: Int = 25, fresh: Bool = false, selection: CRSSelection? = nil,
                              log: (String) -> Void) throws -> Parameters {
        func finished(_ folder: URL, _ parameters: Parameters) throws -> Parameters {
            guard selection != nil else { return parameters }
            let best = try MetaCRS.loadPolicy(from: folder.appendingPathComponent("best"))
            log("\(learner.rawValue): validation-best step \(best.step) (SR@10 \(best.metadata["validationSR"] ?? "?"))")
            return best.parameters
        }
        if let shipped, FileManager.default.fileExists(atPath: shipped.appendingPathComponent("config.json").path) {
            let saved = try MetaCRS.loadPolicy(from: shipped)
            if saved.config.training == config, saved.config.learner == learner, saved.step >= steps {
                log("\(learner.rawValue): loaded shipped \(shipped.path) (step \(saved.step))")
                return try finished(shipped, saved.parameters)
            }
        }
        let lock = try FolderLock(folder)
        defer { withExtendedLifetime(lock) {} }
        var start: (Parameters, OptimizerState?, Int)?
        let bestFolder = folder.appendingPathComponent("best")
        var bestSR = -1.0
        if !fresh, FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) {
            let saved = try MetaCRS.loadPolicy(from: folder)
            guard saved.config.training == config, saved.config.learner == learner else {
                throw CheckpointError.badConfig(file: folder.appendingPathComponent("config.json"),
                                                reason: "holds a different configuration; pass --fresh or another --out")
            }
            if saved.step >= steps {
                log("\(learner.rawValue): loaded \(folder.path) (step \(saved.step))")
                return try finished(folder, saved.parameters)
            }
            log("\(learner.rawValue): resuming \(folder.path) at step \(saved.step) of \(steps)")
            start = (saved.parameters, saved.optimizer, saved.step)
            if selection != nil, FileManager.default.fileExists(atPath: bestFolder.appendingPathComponent("config.json").path) {
                bestSR = try MetaCRS.loadPolicy(from: bestFolder).metadata["validationSR"].flatMap(Double.init) ?? -1
            }
        }
        let label = "\(learner.rawValue)\(config.model.transGate ? "" : "-no-transgate")"
        let unit = learner == .global ? "episodes" : "users"
        var progress = ProgressReporter(label: label, total: steps, unit: unit, interval: 10, startStep: start?.2 ?? 0)
        var window: [(Double, Double)] = []
        func select(_ step: Int, _ parameters: Parameters) throws {
            guard let selection, step % selection.every == 0 || step == steps else { return }
            let sr = evaluate(parameters, users: selection.users, seed: selection.seed, protocol: selection.evaluation,
                              threads: selection.threads).measure().successRate
            let improved = sr > bestSR
            log(String(format: "%@ step %d: validation SR@10 %.4f%@", label, step, sr, improved ? " (best so far, saved)" : ""))
            guard improved else { return }
            bestSR = sr
            try Checkpoint.save(parameters: parameters,
                                config: CRSPolicyCheckpointConfig(dataset: name, learner: learner, training: config),
                                kind: Self.checkpointKind, to: bestFolder,
                                metadata: ["step": "\(step)", "validationSR": String(format: "%.6f", sr)])
        }
        let last = try train(learner, steps: steps, dataset: name, start: start, folder: folder, saveEvery: saveEvery,
                             report: { r in
            window.append((r.meanReturn, r.successRate))
            if window.count > 20 { window.removeFirst() }
            let n = Double(window.count)
            let extra = String(format: "return %.3f SR %.3f (last %d steps)",
                               window.reduce(0) { $0 + $1.0 } / n, window.reduce(0) { $0 + $1.1 } / n, window.count)
            let work = Double(learner == .global ? config.globalBatch : config.usersPerMetaEpoch)
            progress.update(step: r.step, loss: r.loss, work: work, extra: r.step % 10 == 0 || r.step == steps ? extra : "")
        }, afterStep: select)
        return try finished(folder, last)
    }
}
