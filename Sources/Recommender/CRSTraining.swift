import Foundation
import Tensor
import Autograd
import NN

// The straight-line training loop of the learned CRS policies (global and MetaCRS) with resumable
// checkpoints: weights, the Adam state and the step count are saved together, atomically.

/// What a policy checkpoint's config.json holds.
public struct CRSPolicyCheckpointConfig: Codable, Equatable, Sendable, ValidatedConfig {
    /// Checked on every checkpoint load.
    public func validate() throws {
        let model = training.model
        try Check.within(model.embedding, 1...4096, "training.model.embedding")
        try Check.within(model.width, 1...4096, "training.model.width")
        try Check.within(model.hidden, 1...4096, "training.model.hidden")
        try Check.within(model.heads, 1...64, "training.model.heads")
        guard model.width % model.heads == 0 else {
            throw ConfigError(field: "training.model.width", value: "\(model.width)", allowed: "a multiple of training.model.heads (\(model.heads))")
        }
        try Check.within(training.globalBatch, 1...100_000, "training.globalBatch")
        try Check.positive(training.metaLearningRate, "training.metaLearningRate", upTo: 10)
        try Check.finite(training.localLearningRate, "training.localLearningRate", from: 0, to: 10)
        try Check.within(training.adaptationChunk, 1...1000, "training.adaptationChunk")
        try Check.finite(training.identificationWeight, "training.identificationWeight", from: 0, to: 100)
        if training.explorerReward == .informationGain && model.hidden != model.embedding {
            throw ConfigError(field: "training.model.hidden", value: "\(model.hidden)",
                              allowed: "equal to training.model.embedding (\(model.embedding)) for the information-gain explorer (h . e_u)")
        }
    }

    public var dataset: String
    public var learner: CRSLearner
    public var training: CRSTrainingConfig

    public init(dataset: String, learner: CRSLearner, training: CRSTrainingConfig) {
        self.dataset = dataset
        self.learner = learner
        self.training = training
    }
}

/// One training report (printed as a progress line).
public struct CRSTrainingReport: Sendable {
    public var step: Int
    public var loss: Float
    /// Mean return and success rate of the step's (query) episodes.
    public var meanReturn: Double
    public var successRate: Double
    public var episodes: Int
}

extension MetaCRS {
    public static let checkpointKind = "recommender.crs-policy"

    /// Loads a policy checkpoint strictly (names and shapes from its own config); returns the
    /// parameters, the config, the saved step and the optimizer state.
    public static func loadPolicy(from folder: URL) throws
        -> (parameters: Parameters, config: CRSPolicyCheckpointConfig, step: Int, optimizer: OptimizerState?,
            metadata: [String: String])
    {
        let (config, checkpoint) = try Checkpoint.load(from: folder, as: CRSPolicyCheckpointConfig.self,
                                                       kind: checkpointKind) { c in
            var rng = SeededGenerator(seed: 0)
            var p = Parameters()
            CRSPolicyNetwork(prefix: "task", config: c.training.model).initialize(into: &p, using: &rng)
            if c.learner == .metacrs {
                CRSPolicyNetwork(prefix: "explorer", config: c.training.model).initialize(into: &p, using: &rng)
            }
            return p
        }
        guard let step = checkpoint.metadata["step"].flatMap(Int.init) else {
            throw CheckpointError.badConfig(file: folder.appendingPathComponent("config.json"), reason: "metadata has no integer \"step\"")
        }
        return (checkpoint.parameters, config, step, checkpoint.optimizer, checkpoint.metadata)
    }

    /// Trains `learner` for steps (resuming at `start` when given: parameters, Adam state, steps done),
    /// saving into `folder` every `saveEvery` steps and at the end. A step is one meta-epoch (MetaCRS:
    /// `usersPerMetaEpoch` users) or one batch of `globalBatch` episodes (global). Deterministic under
    /// `config.seed`: step k draws its users and sessions from seeds derived from (seed, k).
    public func train(
        _ learner: CRSLearner, steps: Int, dataset: String, start: (Parameters, OptimizerState?, Int)? = nil,
        folder: URL? = nil, saveEvery: Int = 50, metadata: [String: String] = [:],
        report: ((CRSTrainingReport) -> Void)? = nil, afterStep: (Int, Parameters) throws -> Void = { _, _ in }
    ) throws -> Parameters {
        var parameters = start?.0 ?? initialParameters(learner)
        var adam = Adam(learningRate: config.metaLearningRate, weightDecay: config.l2)
        if let state = start?.1 { try adam.restore(state) }
        let users = eligible(simulator.dataset.trainUsers)
        precondition(!users.isEmpty, "no training user has interactions")
        let perStep = learner == .global ? config.globalBatch : config.usersPerMetaEpoch
        func save(_ step: Int) throws {
            guard let folder else { return }
            try Checkpoint.save(parameters: parameters,
                                config: CRSPolicyCheckpointConfig(dataset: dataset, learner: learner, training: config),
                                kind: Self.checkpointKind, to: folder,
                                metadata: metadata.merging(["step": "\(step)"]) { $1 }, optimizer: adam.state)
        }
        var step = start?.2 ?? 0
        while step < steps {
            var rng = SeededGenerator(seed: config.seed &* 0x2545_F491_4F6C_DD1D ^ UInt64(step + 1))
            let batch = (0..<perStep).map { _ in users[Int.random(in: 0..<users.count, using: &rng)] }
            let stepSeed = rng.next()
            let (grads, traces, loss) = trainingGradient(parameters, learner: learner, users: batch, seed: stepSeed)
            adam.update(&parameters, gradients: grads)
            step += 1
            let n = Double(max(traces.count, 1))
            report?(CRSTrainingReport(step: step, loss: loss,
                                      meanReturn: traces.reduce(0.0) { $0 + Double($1.totalReward) } / n,
                                      successRate: Double(traces.filter(\.succeeded).count) / n, episodes: traces.count))
            if step % saveEvery == 0 || step == steps { try save(step) }
            try afterStep(step, parameters)
        }
        return parameters
    }
}
