import Tensor
import Autograd

/// Position-wise feed-forward block (Vaswani et al. 2017, eq. 2): W2 drop(relu(W1 x + b1)) + b2,
/// named `<name>.input` [F, C] and `<name>.output` [C, F]. PAML's release uses width-3 convolutions
/// here; this is the per-position form.
public struct FeedForward: Sendable {
    public let name: String
    public let width: Int
    public let filterSize: Int
    /// Dropout on the hidden activations (training only).
    public let dropout: Float

    public init(name: String, width: Int, filterSize: Int, dropout: Float = 0) {
        self.name = name
        self.width = width
        self.filterSize = filterSize
        self.dropout = dropout
    }

    public var input: Linear { Linear(name: "\(name).input", inputSize: width, outputSize: filterSize) }
    public var output: Linear { Linear(name: "\(name).output", inputSize: filterSize, outputSize: width) }

    public func initialize(into parameters: inout Parameters, using rng: inout SeededGenerator) {
        input.initialize(into: &parameters, using: &rng)
        output.initialize(into: &parameters, using: &rng)
    }

    /// x [..., C] -> [..., C].
    public func callAsFunction(_ g: Graph, _ x: Var) -> Var {
        let hidden = relu(input(g, x))                       // [..., F]
        return output(g, g.dropout(hidden, rate: dropout))   // [..., C]
    }
}
