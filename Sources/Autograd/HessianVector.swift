import Tensor

/// Hessian-vector product of a scalar loss by central differences of its gradient (Pearlmutter 1994,
/// finite-difference form): H v ≈ (∇L(θ + s v) - ∇L(θ - s v)) / (2 s), with error O(s² ‖∇³L‖ ‖v‖³)
/// from truncation and O(eps_f32 ‖∇L‖ / s) from float32 rounding; s = 1e-3 balances them for weights and
/// vectors of order 1. Second-order MAML uses it for the (I - α H) correction of the meta-gradient.
///
/// `vector` may name a subset of `parameters` (the rest is treated as zero); the result has every
/// name of `parameters`. Both gradients run with the same `training` flag and `seed`, so a loss with
/// dropout sees the same masks on both sides.
public func hessianVectorProduct(
    at parameters: Parameters, vector: Parameters, step: Float = 1e-3,
    training: Bool = false, seed: UInt64 = 0, _ loss: (Graph) -> Var
) -> Parameters {
    ensure(step > 0, "hessianVectorProduct: step \(step) must be positive")
    let plus = valueAndGradient(at: parameters.adding(vector, scale: step), training: training, seed: seed, loss).gradients
    let minus = valueAndGradient(at: parameters.adding(vector, scale: -step), training: training, seed: seed, loss).gradients
    var product = plus
    product.addScaled(minus, scale: -1)
    product.scale(by: 1 / (2 * step))
    return product
}
