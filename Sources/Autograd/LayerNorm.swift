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
    var cache = LayerNormCache(mean: uninitializedScalars(rows), rstd: uninitializedScalars(rows))
    var out = uninitializedScalars(input.count)   // every element is written below
    input.scalars.withUnsafeBufferPointer { px in
        scale.scalars.withUnsafeBufferPointer { pg in
            beta.value.scalars.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    cache.mean.withUnsafeMutableBufferPointer { pMean in
                        cache.rstd.withUnsafeMutableBufferPointer { pRstd in
                            forEachChunk(rows, minimumPerWorker: rowsPerWorker(channels)) { range, _ in
                                for r in range {
                                    let (mean, rstd) = layerNormRow(px.baseAddress! + r * channels, into: po.baseAddress! + r * channels,
                                                                    gamma: pg.baseAddress!, beta: pb.baseAddress!,
                                                                    channels: channels, epsilon: epsilon)
                                    pMean[r] = mean
                                    pRstd[r] = rstd
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let result = Tensor(shape: input.shape, scalars: out)
    return x.tape.record(result, inputs: [x, gamma, beta]) { g, sink in
        var dx = uninitializedScalars(input.count)   // every element is written below
        // Per-worker partial sums of dgamma and dbeta (rows of `partials`), added up after the rows.
        let workers = parallelWorkerCount
        var partials = [Float](repeating: 0, count: workers * 2 * channels)
        let (means, rstds) = (cache.mean, cache.rstd)
        g.scalars.withUnsafeBufferPointer { pg in
            input.scalars.withUnsafeBufferPointer { px in
                scale.scalars.withUnsafeBufferPointer { pw in
                    dx.withUnsafeMutableBufferPointer { pdx in
                        partials.withUnsafeMutableBufferPointer { pp in
                            forEachChunk(rows, minimumPerWorker: rowsPerWorker(channels)) { range, worker in
                                let pdw = pp.baseAddress! + worker * 2 * channels, pdb = pdw + channels
                                for r in range {
                                    let base = r * channels
                                    let mean = means[r], rstd = rstds[r]
                                    let (gRow, xRow, w) = (pg.baseAddress! + base, px.baseAddress! + base, pw.baseAddress!)
                                    let (m8, r8) = (SIMD8<Float>(repeating: mean), SIMD8<Float>(repeating: rstd))
                                    let dnMean = laneSum(channels) { gRow.lanes($0) * w.lanes($0) }
                                                        tail: { gRow[$0] * w[$0] } / Float(channels)
                                    let dnNormMean = laneSum(channels) {
                                        gRow.lanes($0) * w.lanes($0) * ((xRow.lanes($0) - m8) * r8)
                                    } tail: { gRow[$0] * w[$0] * ((xRow[$0] - mean) * rstd) } / Float(channels)
                                    // Eight channels at a time: the pointers may alias as far as the
                                    // compiler knows, so it would not vectorise this loop itself.
                                    let dx = pdx.baseAddress! + base
                                    let (dnMean8, dnNormMean8) = (SIMD8<Float>(repeating: dnMean), SIMD8<Float>(repeating: dnNormMean))
                                    var c = 0
                                    while c + 8 <= channels {
                                        let norm = (xRow.lanes(c) - m8) * r8
                                        let gradient = gRow.lanes(c)
                                        dx.storeLanes((gradient * w.lanes(c) - dnMean8 - norm * dnNormMean8) * r8, at: c)
                                        pdw.storeLanes(UnsafePointer(pdw).lanes(c) + gradient * norm, at: c)
                                        pdb.storeLanes(UnsafePointer(pdb).lanes(c) + gradient, at: c)
                                        c += 8
                                    }
                                    while c < channels {
                                        let norm = (xRow[c] - mean) * rstd
                                        dx[c] = (gRow[c] * w[c] - dnMean - norm * dnNormMean) * rstd
                                        pdw[c] += gRow[c] * norm
                                        pdb[c] += gRow[c]
                                        c += 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var dgamma = [Float](repeating: 0, count: channels)
        var dbeta = [Float](repeating: 0, count: channels)
        for worker in 0..<workers {
            for c in 0..<channels {
                dgamma[c] += partials[worker * 2 * channels + c]
                dbeta[c] += partials[worker * 2 * channels + channels + c]
            }
        }
        if sink.needs(0) { sink.add(0, Tensor(shape: input.shape, scalars: dx)) }
        if sink.needs(1) { sink.add(1, Tensor(shape: [channels], scalars: dgamma)) }
        if sink.needs(2) { sink.add(2, Tensor(shape: [channels], scalars: dbeta)) }
    }
}
