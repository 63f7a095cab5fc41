import Tensor
import Autograd

/// Layer normalization over the last dimension (Ba, Kiros & Hinton 2016):
/// y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance, as `nn.LayerNorm`.
/// (PAML's release uses its own variant, (x - mean) / (std + 1e-6) with the unbiased std; the two
/// differ by O(1/C) in scale and are not interchangeable weight-for-weight.)
public struct LayerNorm: Sendable {
    public let name: String
    public let width: Int
    public let epsilon: Float

    public init(name: String, width: Int, epsilon: Float = 1e-5) {
        self.name = name
        self.width = width
        self.epsilon = epsilon
    }

    /// weight = 1, bias = 0: the identity on normalized inputs.
    public func initialize(into parameters: inout Parameters) {
        parameters["\(name).weight"] = Tensor(repeating: 1, shape: [width])
        parameters["\(name).bias"] = Tensor(zeros: [width])
    }

    /// x [..., C] -> [..., C].
    public func callAsFunction(_ g: Graph, _ x: Var) -> Var {
        precondition(x.shape.last == width, "\(name): input \(x.shape), expected last dimension \(width)")
        return layerNorm(x, gamma: g.param("\(name).weight"), beta: g.param("\(name).bias"), epsilon: epsilon)
    }
}
