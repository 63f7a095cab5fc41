import Autograd
import NN
import Tensor

// Model-agnostic meta-learning (Finn et al. 2017) as PAML uses it (Madotto et al. 2019, Algorithm 1):
// for each task (persona) in a meta-batch, adapt the weights on its support set with SGD (alpha),
//   theta'_i = theta - alpha * grad L_support(theta),
// then move theta along the gradient of the query loss of the adapted weights,
//   grad_theta L_query(theta'_i) = (I - alpha H_support(theta)) grad L_query(theta'_i),
// with the outer optimizer (Adam, beta). The PAML release drops the Hessian term (first order);
// `secondOrder` keeps it, with Hessian-vector products by central differences of gradients.
// Reptile (Nichol et al. 2018) is the third option: its meta-gradient is theta - theta'.
//
// Design notes
// - Everything is functional: the meta-model is a `Parameters` value that adaptation copies, never edits.
// - Tasks are generic: a task is any list of support batches and query batches, and the loss is a
//   closure (Graph, Batch) -> scalar Var, so the same code meta-trains the dialogue model and tests
//   on quadratic problems with exact answers.

/// How the meta-gradient is computed.
public enum MetaGradient: String, Codable, CaseIterable, Sendable {
    /// grad L_query(theta') taken as the gradient at theta (PAML release, FOMAML).
    case firstOrder = "first-order"
    /// The exact chain rule through the inner SGD steps, (I - alpha H) products applied to grad L_query(theta').
    case secondOrder = "second-order"
    /// Reptile: theta - theta' after the inner steps (query batches are ignored).
    case reptile
}

/// Hyperparameters of meta-training; defaults are PAML's.
public struct MAMLConfig: Codable, Equatable, Sendable {
    /// Inner-loop SGD learning rate alpha.
    public var innerLearningRate: Float = 0.01
    /// Inner SGD steps; each step uses the next support batch (cycling).
    public var innerSteps: Int = 1
    /// Global-norm clip of each inner-step gradient (0: none, as the PAML release). First-order MAML
    /// ignores how theta's own loss changes, so with unclipped steps it can drift to weights that are
    /// bad as they are but one large step from good ones; a clip bounds that step.
    public var innerGradientClip: Float = 0
    /// Tasks per meta-update.
    public var metaBatchSize: Int = 16
    /// Outer Adam learning rate beta.
    public var outerLearningRate: Float = 0.0003
    public var metaGradient: MetaGradient = .firstOrder
    /// Global-norm clip of the averaged meta-gradient (PAML: 2.0).
    public var gradientClip: Float = 2.0
    /// Finite-difference step of Hessian-vector products, applied to a unit-norm direction.
    public var hessianStep: Float = 1e-3

    public init() {}
}

/// One task's data: batches to adapt on and batches to evaluate the adapted weights on.
public struct MetaTask<Batch> {
    public var support: [Batch]
    public var query: [Batch]
    public init(support: [Batch], query: [Batch]) {
        self.support = support
        self.query = query
    }
}

/// What one task contributed to a meta-update.
public struct TaskOutcome: Sendable {
    /// Mean query loss before adaptation (at theta) — only measured when asked, it costs a forward.
    public var queryLossBefore: Float?
    /// Mean query loss of the adapted weights.
    public var queryLossAfter: Float
    public var metaGradient: Parameters
}

/// MAML / first-order MAML / Reptile over a loss closure.
public struct MAML<Batch> {
    public let config: MAMLConfig
    public let loss: (Graph, Batch) -> Var

    public init(config: MAMLConfig, loss: @escaping (Graph, Batch) -> Var) {
        self.config = config
        self.loss = loss
    }

    /// theta' after `steps` SGD steps on the support batches (cycled), from `parameters`; also returns
    /// the weights before each step (second-order MAML needs them). A new value: `parameters` is untouched.
    public func adapt(_ parameters: Parameters, on support: [Batch], steps: Int? = nil,
                      learningRate: Float? = nil, seed: UInt64 = 0) -> (adapted: Parameters, trajectory: [Parameters]) {
        let outcome = adaptation(parameters, on: support, steps: steps, learningRate: learningRate, seed: seed)
        return (outcome.adapted, outcome.trajectory)
    }

    /// The inner loop's full outcome (with the first non-finite step, if any).
    func adaptation(_ parameters: Parameters, on support: [Batch], steps: Int? = nil, learningRate: Float? = nil,
                    seed: UInt64 = 0) -> SGDAdaptation.Outcome {
        precondition(!support.isEmpty, "adapt: empty support set")
        // Inner steps train with dropout, as the release's inner loop does.
        return SGDAdaptation(steps: steps ?? config.innerSteps, learningRate: learningRate ?? config.innerLearningRate,
                             gradientClip: config.innerGradientClip)
            .run(parameters, batches: support.count, keepTrajectory: true) { current, batch, step in
                valueAndGradient(at: current, training: true, seed: seed &+ UInt64(step)) { g in loss(g, support[batch]) }
            }
    }

    /// Mean loss over batches, evaluation mode (no dropout, no gradients).
    public func meanLoss(_ parameters: Parameters, on batches: [Batch]) -> Float {
        precondition(!batches.isEmpty, "meanLoss: no batches")
        var total: Float = 0
        for batch in batches {
            total += loss(Graph(parameters: parameters, trainable: false), batch).value.scalar
        }
        return total / Float(batches.count)
    }

    /// The meta-gradient of one task at `parameters`.
    public func taskGradient(_ parameters: Parameters, task: MetaTask<Batch>, measureBefore: Bool = false,
                             seed: UInt64 = 0) -> TaskOutcome {
        let outcome = adaptation(parameters, on: task.support, seed: seed)
        let (adapted, trajectory) = (outcome.adapted, outcome.trajectory)
        let before = measureBefore && !task.query.isEmpty ? meanLoss(parameters, on: task.query) : nil
        // A diverged inner loop reports a non-finite query loss, so the meta-trainer stops with a message.
        if outcome.nonFiniteStep != nil {
            return TaskOutcome(queryLossBefore: before, queryLossAfter: .nan, metaGradient: parameters.zerosLike())
        }
        if config.metaGradient == .reptile {
            let after = task.query.isEmpty ? meanLoss(adapted, on: task.support) : meanLoss(adapted, on: task.query)
            return TaskOutcome(queryLossBefore: before, queryLossAfter: after,
                               metaGradient: parameters.adding(adapted, scale: -1))
        }
        precondition(!task.query.isEmpty, "MAML needs query batches")
        // grad L_query(theta'), averaged over the query batches.
        var gradient = parameters.zerosLike()
        var after: Float = 0
        for (i, batch) in task.query.enumerated() {
            let (value, g) = valueAndGradient(at: adapted, training: true, seed: seed &+ 1000 &+ UInt64(i)) { graph in
                loss(graph, batch)
            }
            gradient.addScaled(g, scale: 1 / Float(task.query.count))
            after += value / Float(task.query.count)
        }
        if config.metaGradient == .secondOrder {
            precondition(config.innerGradientClip == 0, "second-order MAML differentiates unclipped inner steps")
            // Back through each inner step: v <- v - alpha H_step(theta_step) v, last step first.
            for step in stride(from: trajectory.count - 1, through: 0, by: -1) {
                let batch = task.support[step % task.support.count]
                let hv = directionalHessian(at: trajectory[step], direction: gradient, seed: seed &+ UInt64(step)) { g in
                    loss(g, batch)
                }
                gradient.addScaled(hv, scale: -config.innerLearningRate)
            }
        }
        return TaskOutcome(queryLossBefore: before, queryLossAfter: after, metaGradient: gradient)
    }

    /// H v with the finite-difference step taken along v/|v| (so the step is scale-free), times |v|.
    /// Evaluated in training mode with the same seed as the inner step, so dropout masks match it.
    private func directionalHessian(at parameters: Parameters, direction: Parameters, seed: UInt64,
                                    _ loss: (Graph) -> Var) -> Parameters {
        let norm = direction.globalNorm()
        guard norm > 0 else { return parameters.zerosLike() }
        var unit = direction
        unit.scale(by: 1 / norm)
        var product = hessianVectorProduct(at: parameters, vector: unit, step: config.hessianStep,
                                           training: true, seed: seed, loss)
        product.scale(by: norm)
        return product
    }

    /// One meta-update over `tasks`: averages the task meta-gradients, clips the global norm and applies
    /// the outer optimizer. Returns the per-task outcomes.
    @discardableResult
    public func metaStep<O: Optimizer>(_ parameters: inout Parameters, tasks: [MetaTask<Batch>], optimizer: inout O,
                                       measureBefore: Bool = false, seed: UInt64 = 0) -> [TaskOutcome] {
        precondition(!tasks.isEmpty, "metaStep: no tasks")
        // Tasks are independent: they run side by side, one per BLAS thread.
        let outcomes = mapOverBLASThreads(tasks.count) { i in
            taskGradient(parameters, task: tasks[i], measureBefore: measureBefore, seed: seed &+ UInt64(i) &* 7919)
        }
        var total = parameters.zerosLike()
        for outcome in outcomes { total.addScaled(outcome.metaGradient, scale: 1 / Float(tasks.count)) }
        if config.gradientClip > 0 { total.clipGlobalNorm(config.gradientClip) }
        optimizer.update(&parameters, gradients: total)
        return outcomes
    }
}
