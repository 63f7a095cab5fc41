import Foundation
import Recommender
import Text

/// What every learned-policy command needs: the dataset, its FM embeddings (trained on training users
/// and saved on first use) and the simulator (MetaCRS protocol: sampled interactions, T = 10, an opening
/// attribute, candidates in training-popularity order for the MaxE rule).
public struct CRSSetup {
    public let dataset: CRSDataset
    public let simulator: UserSimulator
    public let embeddings: CRSEmbeddings

    /// - Parameters:
    ///   - shippedRoot: the dataset's shipped checkpoints (Checkpoints/crs-<dataset>), read only.
    ///   - runRoot: where this run trains (runs/crs-<dataset>).
    public init(root: CorpusRoot, dataset name: String, shippedRoot: URL, runRoot: URL, maxTurns: Int = 10,
                log: (String) -> Void) throws {
        let d = try CRSDataset.load(directory: root.file("crs/\(name)"))
        // The shipped FM embeddings when they exist; else ones trained earlier under runRoot, else trained now there.
        let fmFolder = [shippedRoot, runRoot].map { $0.appendingPathComponent("fm") }
            .first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
            ?? runRoot.appendingPathComponent("fm")
        let fm: FactorizationMachine
        if FileManager.default.fileExists(atPath: fmFolder.appendingPathComponent("config.json").path) {
            fm = try FactorizationMachine.load(from: fmFolder, for: d).model
            log("FM embeddings: \(fmFolder.path)")
        } else {
            log("training FM embeddings (BPR) on \(d.trainUsers.count) training users ...")
            let trainer = FMTrainer(dataset: d, config: FMConfig())
            let (model, reports) = withoutActuallyEscaping(log) { log in trainer.train { log("  " + $0.line) } }
            try model.save(to: fmFolder, config: trainer.config,
                           metadata: ["dataset": name, "heldOutAUC": String(format: "%.4f", reports.last?.heldOutAUC ?? 0)])
            fm = model
        }
        dataset = d
        simulator = UserSimulator(dataset: d, source: .sampled, maxTurns: maxTurns, opensWithAttribute: true,
                                  itemOrder: d.popularityOrder(users: d.trainUsers))
        embeddings = CRSEmbeddings(fm)
    }

}
