import CBLAS

// Matrix products through OpenBLAS sgemm. Shapes: a [..., M, K], b [..., K, N] -> [..., M, N]
// (with the transpose flags applied to the last two dimensions of the operands).

/// Computes `out = alpha * op(a) @ op(b) + beta * out` for row-major matrices given by raw pointers.
/// `a` is M x K after `transposeA`, `b` is K x N after `transposeB`; `out` is M x N.
@inline(__always)
public func sgemm(
    _ a: UnsafePointer<Float>, transposeA: Bool,
    _ b: UnsafePointer<Float>, transposeB: Bool,
    _ out: UnsafeMutablePointer<Float>,
    m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // BLAS leaves C untouched for K = 0 only when beta = 1; make the empty sum explicit.
        for i in 0..<(m * n) { out[i] = beta == 0 ? 0 : beta * out[i] }
        return
    }
    cblas_sgemm(
        CblasRowMajor,
        transposeA ? CblasTrans : CblasNoTrans,
        transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha,
        a, Int32(transposeA ? m : k),
        b, Int32(transposeB ? k : n),
        beta, out, Int32(n))
}

/// OpenBLAS 0.3 runs an sgemm with M * N * K below this (SMP_THRESHOLD_MIN 65,536 times
/// GEMM_MULTITHREAD_THRESHOLD 4) on one thread.
let openBLASSingleThreadProductSize = 65_536 * 4

/// Sets how many threads OpenBLAS uses (the machines here have 2 cores).
public func setBLASThreads(_ count: Int) { openblas_set_num_threads(Int32(count)) }

extension Tensor {
    /// Batched matrix product. `a` is [..., M, K] (or [..., K, M] when `transposeA`), `b` is
    /// [..., K, N] (or [..., N, K] when `transposeB`). A rank-2 `b` is shared by every batch of `a`.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank >= 2, got \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
        let kA = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        let kB = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        precondition(kA == kB, "matmul inner dimensions differ: \(a.shape) x \(b.shape) (transposeA \(transposeA), transposeB \(transposeB))")
        let batchShape = Array(a.shape.dropLast(2))
        let batch = Tensor.count(of: batchShape)
        let sharedB = b.rank == 2
        if !sharedB {
            precondition(Array(b.shape.dropLast(2)) == batchShape, "matmul batch shapes differ: \(a.shape) x \(b.shape)")
        }
        // sgemm with beta = 0 never reads C, so the output needs no zero fill.
        var out = uninitializedScalars(batch * m * n)
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    if sharedB && !transposeA {
                        // Fold the batch into M: one large sgemm instead of many small ones.
                        sgemm(pa.baseAddress!, transposeA: false, pb.baseAddress!, transposeB: transposeB,
                              po.baseAddress!, m: batch * m, n: n, k: kA)
                        return
                    }
                    func product(_ i: Int) {
                        sgemm(pa.baseAddress! + i * m * kA, transposeA: transposeA,
                              pb.baseAddress! + (sharedB ? 0 : i * kA * n), transposeB: transposeB,
                              po.baseAddress! + i * m * n, m: m, n: n, k: kA)
                    }
                    if m * n * kA < openBLASSingleThreadProductSize {
                        // OpenBLAS runs a product this small on the calling thread only, so many of them
                        // (attention heads: B x H products of T x T x D) would leave the other cores idle.
                        // Each worker takes a contiguous share of the batch.
                        forEachChunk(batch, minimumPerWorker: 1) { range, _ in
                            for i in range { product(i) }
                        }
                    } else {
                        for i in 0..<batch { product(i) }
                    }
                }
            }
        }
        return Tensor(shape: batchShape + [m, n], scalars: out)
    }
}
