import Foundation
import Autograd
import Tensor
import NN

// Saving and loading factorization-machine embeddings as a project checkpoint (SafeTensors weights
// "user" [U, D], "item" [I, D], "attribute" [A, D], plus the FMConfig and metadata; see NN/Checkpoint).

extension FactorizationMachine {
    /// The checkpoint kind of FM embeddings.
    public static let checkpointKind = "recommender.fm"

    /// Writes the embeddings, `config` and `metadata` (dataset, AUC, ...) into `folder` atomically.
    public func save(to folder: URL, config: FMConfig, metadata: [String: String] = [:]) throws {
        try Checkpoint.save(parameters: parameters, config: config, kind: Self.checkpointKind, to: folder, metadata: metadata)
    }

    /// Loads embeddings for `dataset`: the tables must have exactly its user, item and attribute counts
    /// and the saved config's width (strict, as every checkpoint load).
    public static func load(from folder: URL, for dataset: CRSDataset) throws -> (model: FactorizationMachine, config: FMConfig) {
        let (config, checkpoint) = try Checkpoint.load(from: folder, as: FMConfig.self, kind: checkpointKind) { config in
            Parameters([("user", Tensor(zeros: [dataset.userCount, config.dimension])),
                        ("item", Tensor(zeros: [dataset.itemCount, config.dimension])),
                        ("attribute", Tensor(zeros: [dataset.attributeCount, config.dimension]))])
        }
        return (FactorizationMachine(parameters: checkpoint.parameters), config)
    }
}
