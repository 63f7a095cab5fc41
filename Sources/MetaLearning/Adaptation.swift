import Autograd
import NN
import Tensor

/// The one inner SGD loop, shared by MAML's inner update and k-shot persona adaptation:
///   theta_{s+1} = theta_s - alpha * clip(grad L(theta_s; batch_{s mod n})),  s = 0 ..< steps,
/// on batch s mod n of the support set, with the global-norm clip applied when `gradientClip` > 0
/// (Finn et al. 2017, eq. 1; Madotto et al. 2019, eq. 3). `theta` is a new value; the input is untouched.
public struct SGDAdaptation {
    public var steps: Int
    public var learningRate: Float
    /// Global-norm clip of each step's gradient (0: none).
    public var gradientClip: Float

    public init(steps: Int, learningRate: Float, gradientClip: Float = 0) {
        self.steps = steps
        self.learningRate = learningRate
        self.gradientClip = gradientClip
    }

    public struct Outcome {
        public var adapted: Parameters
        /// The weights before each step (second-order MAML differentiates through them); empty unless asked for.
        public var trajectory: [Parameters]
        /// The first step whose loss was not finite (the loop stops there), or nil.
        public var nonFiniteStep: Int?
    }

    /// Runs the loop. `gradient(theta, batch index, step)` returns the loss and its gradient at theta; the caller
    /// decides the model, the batches and whether dropout is on.
    public func run(_ parameters: Parameters, batches: Int, keepTrajectory: Bool = false,
                    gradient: (Parameters, Int, Int) -> (value: Float, gradients: Parameters)) -> Outcome {
        var current = parameters
        var trajectory: [Parameters] = []
        guard batches > 0 else { return Outcome(adapted: current, trajectory: [], nonFiniteStep: nil) }
        for step in 0..<steps {
            if keepTrajectory { trajectory.append(current) }
            var (loss, gradients) = gradient(current, step % batches, step)
            guard loss.isFinite else { return Outcome(adapted: current, trajectory: trajectory, nonFiniteStep: step + 1) }
            if gradientClip > 0 { gradients.clipGlobalNorm(gradientClip) }
            current.addScaled(gradients, scale: -learningRate)
        }
        return Outcome(adapted: current, trajectory: trajectory, nonFiniteStep: nil)
    }
}
