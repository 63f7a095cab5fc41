import Tensor

// Layer normalisation over the last axis (Ba, Kiros & Hinton 2016), fused forward/backward after
// llm.c's layernorm_forward/backward. Shapes: x [N, C] (any leading dims fold into N), gamma, beta [C].

/// What the backward pass needs from the forward pass, per row: the mean and 1/σ.
struct LayerNormCache {
    var mean: [Float]   // [N]
    var rstd: [Float]   // [N]
}

/// y = gamma * (x - mean) / sqrt(var + epsilon) + beta, with mean and (biased) variance over the last axis.
///
/// Backward, with n = (x - mean) * rstd and dn = dy * gamma:
/// dx = rstd * (dn - mean(dn) - n * mean(dn * n)),  dgamma = Σ_rows dy * n,  dbeta = Σ_rows dy.
public func layerNorm(_ x: Var, gamma: Var, beta: Var, epsilon: Float = 1e-5) -> Var {
    let channels = x.shape.last ?? 0
    ensure(gamma.shape == [channels] && beta.shape == [channels],
                 "layerNorm: gamma \(gamma.shape) and beta \(beta.shape) for input \(x.shape)")
    let rows = x.value.count / Swift.max(channels, 1)
    let input = x.value, scale = gamma.value
    var cache = LayerNormCache(mean: [Float](repeating: 0, count: rows), rstd: [Float](repeating: 0, count: rows))
    var out = [Float](repeating: 0, count: input.count)
    input.scalars.withUnsafeBufferPointer { px in
        scale.scalars.withUnsafeBufferPointer { pg in
            beta.value.scalars.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    for r in 0..<rows {
                        let base = r * channels
                        var sum: Float = 0
                        for c in 0..<channels { sum += px[base + c] }
                        let mean = sum / Float(channels)
                        var variance: Float = 0
                        for c in 0..<channels {
                            let d = px[base + c] - mean
                            variance += d * d
                        }
                        let rstd = 1 / (variance / Float(channels) + epsilon).squareRoot()
                        for c in 0..<channels {
                            po[base + c] = (px[base + c] - mean) * rstd * pg[c] + pb[c]
                        }
                        cache.mean[r] = mean
                        cache.rstd[r] = rstd
                    }
                }
            }
        }
    }
    let result = Tensor(shape: input.shape, scalars: out)
    return x.tape.record(result, inputs: [x, gamma, beta]) { g, sink in
        var dx = [Float](repeating: 0, count: input.count)
        var dgamma = [Float](repeating: 0, count: channels)
        var dbeta = [Float](repeating: 0, count: channels)
        g.scalars.withUnsafeBufferPointer { pg in
            input.scalars.withUnsafeBufferPointer { px in
                scale.scalars.withUnsafeBufferPointer { pw in
                    dx.withUnsafeMutableBufferPointer { pdx in
                        dgamma.withUnsafeMutableBufferPointer { pdw in
                            dbeta.withUnsafeMutableBufferPointer { pdb in
                                for r in 0..<rows {
                                    let base = r * channels
                                    let mean = cache.mean[r], rstd = cache.rstd[r]
                                    var dnMean: Float = 0, dnNormMean: Float = 0
                                    for c in 0..<channels {
                                        let norm = (px[base + c] - mean) * rstd
                                        let dn = pg[base + c] * pw[c]
                                        dnMean += dn
                                        dnNormMean += dn * norm
                                    }
                                    dnMean /= Float(channels)
                                    dnNormMean /= Float(channels)
                                    for c in 0..<channels {
                                        let norm = (px[base + c] - mean) * rstd
                                        let dn = pg[base + c] * pw[c]
                                        pdx[base + c] = (dn - dnMean - norm * dnNormMean) * rstd
                                        pdw[c] += pg[base + c] * norm
                                        pdb[c] += pg[base + c]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if sink.needs(0) { sink.add(0, Tensor(shape: input.shape, scalars: dx)) }
        if sink.needs(1) { sink.add(1, Tensor(shape: [channels], scalars: dgamma)) }
        if sink.needs(2) { sink.add(2, Tensor(shape: [channels], scalars: dbeta)) }
    }
}
