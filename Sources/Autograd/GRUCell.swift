import Foundation
import Tensor

// One step of a gated recurrent unit (Cho et al. 2014) in PyTorch's layout and gate order (r, z, n),
// fused: two sgemms forward, the gates elementwise, and a hand-written backward.
// Shapes: B batch, In input width, Hd hidden width; weightIH [3Hd, In], weightHH [3Hd, Hd], biases [3Hd].

/// h' = GRU(x, h):
///   r = σ(W_ir x + b_ir + W_hr h + b_hr)
///   z = σ(W_iz x + b_iz + W_hz h + b_hz)
///   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
///   h' = (1 - z) * n + z * h
/// Backward, with dh' the output gradient: dn~ = dh' (1 - z)(1 - n²), dr~ = dn~ (W_hn h + b_hn) r (1 - r),
/// dz~ = dh' (h - n) z (1 - z); input-side pre-activation gradients [dr~, dz~, dn~], hidden-side
/// [dr~, dz~, dn~ * r]; dh = dh' z + (hidden-side) @ W_hh.
public func gruCell(input: Var, hidden: Var, weightIH: Var, weightHH: Var, biasIH: Var, biasHH: Var) -> Var {
    ensure(input.rank == 2 && hidden.rank == 2 && input.shape[0] == hidden.shape[0],
                 "gruCell: input [B,In] \(input.shape) and hidden [B,Hd] \(hidden.shape)")
    let (batch, inWidth, width) = (input.shape[0], input.shape[1], hidden.shape[1])
    ensure(weightIH.shape == [3 * width, inWidth] && weightHH.shape == [3 * width, width]
                 && biasIH.shape == [3 * width] && biasHH.shape == [3 * width],
                 "gruCell: weights \(weightIH.shape), \(weightHH.shape), biases \(biasIH.shape), \(biasHH.shape) for In \(inWidth), Hd \(width)")
    let x = input.value, h = hidden.value, wIH = weightIH.value, wHH = weightHH.value
    let gatesX = Tensor.matmul(x, wIH, transposeB: true)   // [B,3Hd] without bias
    let gatesH = Tensor.matmul(h, wHH, transposeB: true)   // [B,3Hd] without bias
    let gateCount = batch * width
    // Cache: r, z, n and the hidden-side candidate term W_hn h + b_hn, each [B,Hd].
    var r = [Float](repeating: 0, count: gateCount), z = r, n = r, hn = r
    var out = [Float](repeating: 0, count: gateCount)
    gatesX.scalars.withUnsafeBufferPointer { gx in
        gatesH.scalars.withUnsafeBufferPointer { gh in
            biasIH.value.scalars.withUnsafeBufferPointer { bi in
                biasHH.value.scalars.withUnsafeBufferPointer { bh in
                    h.scalars.withUnsafeBufferPointer { ph in
                        r.withUnsafeMutableBufferPointer { pr in
                            z.withUnsafeMutableBufferPointer { pz in
                                n.withUnsafeMutableBufferPointer { pn in
                                    hn.withUnsafeMutableBufferPointer { phn in
                                        out.withUnsafeMutableBufferPointer { po in
                                            for b in 0..<batch {
                                                let row = b * 3 * width
                                                for j in 0..<width {
                                                    let i = b * width + j
                                                    pr[i] = stableSigmoid(gx[row + j] + bi[j] + gh[row + j] + bh[j])
                                                    pz[i] = stableSigmoid(gx[row + width + j] + bi[width + j]
                                                                          + gh[row + width + j] + bh[width + j])
                                                    phn[i] = gh[row + 2 * width + j] + bh[2 * width + j]
                                                    pn[i] = Foundation.tanh(gx[row + 2 * width + j] + bi[2 * width + j] + pr[i] * phn[i])
                                                    po[i] = (1 - pz[i]) * pn[i] + pz[i] * ph[i]
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let inputs = [input, hidden, weightIH, weightHH, biasIH, biasHH]
    let (cr, cz, cn, chn) = (r, z, n, hn)
    return input.tape.record(Tensor(shape: [batch, width], scalars: out), inputs: inputs) { g, sink in
        var dGatesX = [Float](repeating: 0, count: batch * 3 * width)   // [B,3Hd]
        var dGatesH = dGatesX                                           // [B,3Hd]
        var dHidden = [Float](repeating: 0, count: gateCount)           // [B,Hd], the direct z * dh' path
        g.scalars.withUnsafeBufferPointer { pg in
            h.scalars.withUnsafeBufferPointer { ph in
                dGatesX.withUnsafeMutableBufferPointer { dx in
                    dGatesH.withUnsafeMutableBufferPointer { dh in
                        dHidden.withUnsafeMutableBufferPointer { pd in
                            for b in 0..<batch {
                                let row = b * 3 * width
                                for j in 0..<width {
                                    let i = b * width + j
                                    let (rv, zv, nv) = (cr[i], cz[i], cn[i])
                                    let dnPre = pg[i] * (1 - zv) * (1 - nv * nv)
                                    let drPre = dnPre * chn[i] * rv * (1 - rv)
                                    let dzPre = pg[i] * (ph[i] - nv) * zv * (1 - zv)
                                    dx[row + j] = drPre
                                    dx[row + width + j] = dzPre
                                    dx[row + 2 * width + j] = dnPre
                                    dh[row + j] = drPre
                                    dh[row + width + j] = dzPre
                                    dh[row + 2 * width + j] = dnPre * rv
                                    pd[i] = pg[i] * zv
                                }
                            }
                        }
                    }
                }
            }
        }
        let gx = Tensor(shape: [batch, 3 * width], scalars: dGatesX)
        let gh = Tensor(shape: [batch, 3 * width], scalars: dGatesH)
        if sink.needs(0) { sink.add(0, Tensor.matmul(gx, wIH)) }   // [B,In]
        if sink.needs(1) {
            var dh = Tensor.matmul(gh, wHH)                        // [B,Hd]
            dh.addScaled(Tensor(shape: [batch, width], scalars: dHidden))
            sink.add(1, dh)
        }
        if sink.needs(2) { sink.add(2, Tensor.matmul(gx, x, transposeA: true)) }   // [3Hd,In]
        if sink.needs(3) { sink.add(3, Tensor.matmul(gh, h, transposeA: true)) }   // [3Hd,Hd]
        if sink.needs(4) { sink.add(4, sumRows(gx, channels: 3 * width)) }
        if sink.needs(5) { sink.add(5, sumRows(gh, channels: 3 * width)) }
    }
}
