import Tensor
import Autograd

// NN layers. Every layer is a small struct holding its configuration and its parameter-name prefix:
// `initialize(into:using:)` creates its tensors in a `Parameters` under PyTorch-style names
// (`<name>.weight`, `<name>.bias`), and `callAsFunction(graph, ...)` reads them back from the graph.
// Weights live in `Parameters`, never in the layer, so the same layer value runs on the meta-model,
// on MAML's adapted copies and on checkpoints alike.
//
// Shape legend (as in Tensor.swift): B batch, T time, S source time, C channels, H heads, D head depth,
// F feed-forward width, V vocabulary, N flattened rows.

/// Affine map y = x W^T + b with W [Out, In] (PyTorch `nn.Linear` layout).
public struct Linear: Sendable {
    public let name: String
    public let inputSize: Int
    public let outputSize: Int
    public let hasBias: Bool

    public init(name: String, inputSize: Int, outputSize: Int, hasBias: Bool = true) {
        self.name = name
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.hasBias = hasBias
    }

    /// PyTorch's default: W and b uniform in +-1/sqrt(In).
    public func initialize(into parameters: inout Parameters, using rng: inout SeededGenerator) {
        let bound = 1 / Float(inputSize).squareRoot()
        parameters["\(name).weight"] = Tensor.randomUniform([outputSize, inputSize], bound: bound, using: &rng)
        if hasBias {
            parameters["\(name).bias"] = Tensor.randomUniform([outputSize], bound: bound, using: &rng)
        }
    }

    /// x [..., In] -> [..., Out].
    public func callAsFunction(_ g: Graph, _ x: Var) -> Var {
        precondition(x.shape.last == inputSize, "\(name): input \(x.shape), expected last dimension \(inputSize)")
        return linear(x, weight: g.param("\(name).weight"), bias: hasBias ? g.param("\(name).bias") : nil)
    }
}
