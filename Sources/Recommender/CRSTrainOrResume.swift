import Foundation
import Autograd
import NN
import Tensor

extension MetaCRS {
    /// Trains, resumes or just loads a learner's checkpoint in `folder`: a run there of the same configuration
    /// continues (or is returned when it has `steps`); another configuration is refused unless `fresh`. A complete
    /// `shipped` checkpoint of the same configuration is loaded instead and never written to.
    public func trainOrResume(_ learner: CRSLearner, steps: Int, folder: URL, dataset name: String, shipped: URL? = nil,
                              saveEvery: Int = 25, fresh: Bool = false, log: (String) -> Void) throws -> Parameters {
        if let shipped, FileManager.default.fileExists(atPath: shipped.appendingPathComponent("config.json").path) {
            let saved = try MetaCRS.loadPolicy(from: shipped)
            if saved.config.training == config, saved.config.learner == learner, saved.step >= steps {
                log("\(learner.rawValue): loaded shipped \(shipped.path) (step \(saved.step))")
                return saved.parameters
            }
        }
        let lock = try FolderLock(folder)
        defer { withExtendedLifetime(lock) {} }
        var start: (Parameters, OptimizerState?, Int)?
        if !fresh, FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) {
            let saved = try MetaCRS.loadPolicy(from: folder)
            guard saved.config.training == config, saved.config.learner == learner else {
                throw CheckpointError.badConfig(file: folder.appendingPathComponent("config.json"),
                                                reason: "holds a different configuration; pass --fresh or another --out")
            }
            if saved.step >= steps {
                log("\(learner.rawValue): loaded \(folder.path) (step \(saved.step))")
                return saved.parameters
            }
            log("\(learner.rawValue): resuming \(folder.path) at step \(saved.step) of \(steps)")
            start = (saved.parameters, saved.optimizer, saved.step)
        }
        let unit = learner == .metacrs ? "users" : "episodes"
        var progress = ProgressReporter(label: "\(learner.rawValue)\(config.model.transGate ? "" : "-no-transgate")",
                                        total: steps, unit: unit, interval: 10)
        var window: [(Double, Double)] = []
        return try train(learner, steps: steps, dataset: name, start: start, folder: folder, saveEvery: saveEvery) { r in
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
