import Foundation
import Tensor
import Autograd

// Optimizers: one per-tensor update over `Parameters`.
//
// Design notes
// - Parameters, gradients and optimizer moments share one structure (`Parameters`), so an update is
//   a loop over names; a parameter without a gradient is left unchanged (as PyTorch skips `grad is None`).
// - Updates run in place on unsafe buffers. `Parameters.take` moves a tensor out under a placeholder so
//   the update holds the only reference and copy-on-write does not copy it; if the caller still shares
//   the weights (MAML's meta-model), copy-on-write copies them and the caller's copy is untouched.
// - State (moments + step) is an `OptimizerState`: plain tensors and a step count, saved beside a
//   checkpoint (`Checkpoint.save(..., optimizer:)`) so training resumes exactly.
// - Semantics follow torch.optim.SGD / torch.optim.Adam (default flags); golden values in
//   Tests/NNTests/References/optimizer_reference.py.

/// Updates parameters from gradients with the same names.
public protocol Optimizer {
    mutating func update(_ parameters: inout Parameters, gradients: Parameters)
}

/// A learning rate as a function of the 1-based step count.
public protocol LearningRateSchedule {
    func learningRate(at step: Int) -> Float
}

/// The optimizer's saveable state: its kind, the number of updates taken, and its per-parameter slots
/// (named `<slot>.<parameter name>`, e.g. `exp_avg.encoder.embedding.weight`).
public struct OptimizerState: Equatable {
    public var kind: String
    public var step: Int
    public var slots: Parameters

    public init(kind: String, step: Int, slots: Parameters) {
        self.kind = kind
        self.step = step
        self.slots = slots
    }

    /// The slot tensors whose names start with `prefix.`, with the prefix removed.
    func slots(prefixed prefix: String) -> Parameters {
        var out = Parameters()
        for (name, tensor) in slots where name.hasPrefix(prefix + ".") {
            out[String(name.dropFirst(prefix.count + 1))] = tensor
        }
        return out
    }

    /// Checks the kind and that every slot name has one of `prefixes`.
    func validate(kind expected: String, prefixes: [String]) throws {
        guard kind == expected else {
            throw CheckpointError.optimizerMismatch("state is for '\(kind)', the optimizer is '\(expected)'")
        }
        guard step >= 0 else { throw CheckpointError.optimizerMismatch("negative step \(step)") }
        for name in slots.names where !prefixes.contains(where: { name.hasPrefix($0 + ".") }) {
            throw CheckpointError.optimizerMismatch(
                "unexpected slot '\(name)' for \(kind) (slots start with \(prefixes.joined(separator: " or ")).)")
        }
    }
}

extension Parameters {
    /// Moves the tensor named `name` out, leaving an empty placeholder under the same name (order kept),
    /// so the caller holds the only reference and can edit it in place. Put it back with `self[name] =`.
    fileprivate mutating func take(_ name: String) -> Tensor {
        let tensor = require(name)
        self[name] = Tensor(zeros: [0])
        return tensor
    }
}

/// Stochastic gradient descent with optional heavy-ball momentum (torch.optim.SGD, dampening 0):
/// `v = momentum * v + g`, `p -= lr * v` (with momentum 0: `p -= lr * g`).
public struct SGD: Optimizer {
    public var learningRate: Float
    public var momentum: Float
    /// Momentum buffers, created on a parameter's first update.
    public private(set) var velocity = Parameters()
    public private(set) var step = 0

    public init(learningRate: Float, momentum: Float = 0) {
        precondition(learningRate >= 0 && momentum >= 0, "SGD: negative learning rate or momentum")
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public mutating func update(_ parameters: inout Parameters, gradients: Parameters) {
        step += 1
        for (name, gradient) in gradients {
            var p = parameters.take(name)
            precondition(p.shape == gradient.shape, "SGD: '\(name)' is \(p.shape), gradient \(gradient.shape)")
            if momentum == 0 {
                p.addScaled(gradient, scale: -learningRate)
            } else {
                var v = velocity.contains(name) ? velocity.take(name) : Tensor(zeros: p.shape)
                let (mu, lr) = (momentum, learningRate)
                p.scalars.withUnsafeMutableBufferPointer { pb in
                    v.scalars.withUnsafeMutableBufferPointer { vb in
                        gradient.scalars.withUnsafeBufferPointer { gb in
                            for i in 0..<pb.count {
                                vb[i] = mu * vb[i] + gb[i]
                                pb[i] -= lr * vb[i]
                            }
                        }
                    }
                }
                velocity[name] = v
            }
            parameters[name] = p
        }
    }

    public var state: OptimizerState {
        OptimizerState(kind: "sgd", step: step,
                       slots: velocity.reduce(into: Parameters()) { $0["momentum_buffer.\($1.name)"] = $1.tensor })
    }

    /// Resumes from a saved state (hyperparameters come from `init`, the state holds buffers and step).
    public mutating func restore(_ state: OptimizerState) throws {
        try state.validate(kind: "sgd", prefixes: ["momentum_buffer"])
        step = state.step
        velocity = state.slots(prefixed: "momentum_buffer")
    }
}

/// Adam (Kingma & Ba 2015) exactly as torch.optim.Adam (amsgrad off), with L2 weight decay added to
/// the gradient (torch's `weight_decay`, not AdamW's decoupled decay). At step t:
/// ```
/// g = grad + weightDecay * p
/// m = beta1 * m + (1 - beta1) * g
/// v = beta2 * v + (1 - beta2) * g^2
/// p -= lr_t / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
/// ```
/// `lr_t` is `schedule.learningRate(at: t)` when a schedule is set, else `learningRate`.
/// PAML's Noam baselines use beta2 0.98, epsilon 1e-9 with `NoamSchedule`; its meta-optimizer lr 3e-4.
public struct Adam: Optimizer {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// When set, overrides `learningRate` at every step.
    public var schedule: (any LearningRateSchedule)?
    /// First and second moment estimates, created on a parameter's first update.
    public private(set) var firstMoment = Parameters()
    public private(set) var secondMoment = Parameters()
    /// Updates taken so far; the next update is step `step + 1`.
    public private(set) var step = 0

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, schedule: (any LearningRateSchedule)? = nil) {
        precondition(learningRate >= 0 && epsilon >= 0 && weightDecay >= 0, "Adam: negative hyperparameter")
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam: betas must be in [0, 1)")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.schedule = schedule
    }

    /// The learning rate the next update will use.
    public var currentLearningRate: Float { schedule?.learningRate(at: step + 1) ?? learningRate }

    public mutating func update(_ parameters: inout Parameters, gradients: Parameters) {
        let lr = currentLearningRate
        step += 1
        // Bias corrections in double precision, as PyTorch computes them in Python floats.
        let t = Double(step)
        let stepSize = Float(Double(lr) / (1 - pow(Double(beta1), t)))
        let correction2Sqrt = Float((1 - pow(Double(beta2), t)).squareRoot())
        let (b1, b2, eps, wd) = (beta1, beta2, epsilon, weightDecay)
        for (name, gradient) in gradients {
            var p = parameters.take(name)
            precondition(p.shape == gradient.shape, "Adam: '\(name)' is \(p.shape), gradient \(gradient.shape)")
            var m = firstMoment.contains(name) ? firstMoment.take(name) : Tensor(zeros: p.shape)
            var v = secondMoment.contains(name) ? secondMoment.take(name) : Tensor(zeros: p.shape)
            precondition(m.shape == p.shape && v.shape == p.shape, "Adam: moments of '\(name)' have the wrong shape")
            p.scalars.withUnsafeMutableBufferPointer { pb in
                m.scalars.withUnsafeMutableBufferPointer { mb in
                    v.scalars.withUnsafeMutableBufferPointer { vb in
                        gradient.scalars.withUnsafeBufferPointer { gb in
                            for i in 0..<pb.count {
                                let g = gb[i] + wd * pb[i]
                                mb[i] = b1 * mb[i] + (1 - b1) * g
                                vb[i] = b2 * vb[i] + (1 - b2) * g * g
                                pb[i] -= stepSize * mb[i] / (vb[i].squareRoot() / correction2Sqrt + eps)
                            }
                        }
                    }
                }
            }
            parameters[name] = p
            firstMoment[name] = m
            secondMoment[name] = v
        }
    }

    public var state: OptimizerState {
        var slots = Parameters()
        for (name, tensor) in firstMoment { slots["exp_avg.\(name)"] = tensor }
        for (name, tensor) in secondMoment { slots["exp_avg_sq.\(name)"] = tensor }
        return OptimizerState(kind: "adam", step: step, slots: slots)
    }

    /// Resumes from a saved state (hyperparameters and schedule come from `init`).
    public mutating func restore(_ state: OptimizerState) throws {
        try state.validate(kind: "adam", prefixes: ["exp_avg", "exp_avg_sq"])
        let m = state.slots(prefixed: "exp_avg")
        let v = state.slots(prefixed: "exp_avg_sq")
        guard m.names == v.names, zip(m, v).allSatisfy({ $0.tensor.shape == $1.tensor.shape }) else {
            throw CheckpointError.optimizerMismatch("Adam state: exp_avg and exp_avg_sq name different tensors or shapes")
        }
        step = state.step
        firstMoment = m
        secondMoment = v
    }
}

/// The warm-up schedule of "Attention Is All You Need" (Vaswani et al. 2017, eq. 3), PAML's `NoamOpt`:
/// `lr(step) = factor * modelSize^-0.5 * min(step^-0.5, step * warmup^-1.5)`, rising linearly for
/// `warmup` steps, then decaying as 1/sqrt(step). Step 0 gives 0.
public struct NoamSchedule: LearningRateSchedule, Codable, Equatable {
    public var modelSize: Int
    public var warmup: Int
    public var factor: Float

    public init(modelSize: Int, warmup: Int = 4000, factor: Float = 1) {
        precondition(modelSize > 0 && warmup > 0, "NoamSchedule: modelSize and warmup must be positive")
        self.modelSize = modelSize
        self.warmup = warmup
        self.factor = factor
    }

    public func learningRate(at step: Int) -> Float {
        guard step > 0 else { return 0 }
        let s = Double(step)
        let rate = Double(factor) * pow(Double(modelSize), -0.5) * min(pow(s, -0.5), s * pow(Double(warmup), -1.5))
        return Float(rate)
    }
}
