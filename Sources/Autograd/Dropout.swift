import Tensor

extension Graph {
    /// Inverted dropout (Srivastava et al. 2014): while `training`, each element is zeroed with
    /// probability `rate` and the survivors are scaled by 1 / (1 - rate), so evaluation is the identity.
    /// The mask comes from `rng`, so a seed fixes it; the gradient is the output gradient times the mask.
    public func dropout(_ x: Var, rate: Float) -> Var {
        ensure(rate >= 0 && rate < 1, "dropout: rate \(rate) outside [0, 1)")
        guard training, rate > 0 else { return x }
        let keep = 1 / (1 - rate)
        var mask = [Float](repeating: 0, count: x.value.count)
        // A local copy of the graph's generator keeps its state in registers (same stream, written back after).
        var local = rng
        mask.withUnsafeMutableBufferPointer { pm in
            for i in 0..<pm.count { pm[i] = local.nextUniform() < rate ? 0 : keep }
        }
        rng = local
        let m = Tensor(shape: x.shape, scalars: mask)
        return tape.record(x.value * m, inputs: [x]) { g, sink in sink.add(0, g * m) }
    }
}
