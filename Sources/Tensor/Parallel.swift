import CBLAS
import Dispatch

/// Splits 0..<count into contiguous ranges, one per BLAS thread, and runs `body` on them concurrently
/// when each range would get at least `minimumPerWorker` items; otherwise runs `body(0..<count)` on the
/// calling thread. Row-wise kernels (layer norm, softmax, cross-entropy) use it so the cores that
/// OpenBLAS uses for the products are not left idle between them. `body` must only write state that
/// belongs to its own range; it receives the worker index for per-worker partial results.
public func forEachChunk(_ count: Int, minimumPerWorker: Int, _ body: (_ range: Range<Int>, _ worker: Int) -> Void) {
    let workers = Swift.min(parallelWorkerCount, count / Swift.max(minimumPerWorker, 1))
    guard workers > 1 else {
        if count > 0 { body(0..<count, 0) }
        return
    }
    let share = (count + workers - 1) / workers
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        let range = (worker * share)..<Swift.min(count, (worker + 1) * share)
        if !range.isEmpty { body(range, worker) }
    }
}

/// How many workers `forEachChunk` may use: the BLAS thread count (`setBLASThreads`).
public var parallelWorkerCount: Int { Int(openblas_get_num_threads()) }

/// body(0) ... body(count - 1), run side by side on the BLAS threads with each call's own BLAS products
/// single-threaded, in order when there is one thread. PAML's products are narrow (widths 40 and 50),
/// where splitting every GEMM over the cores costs more than it gains; whole independent computations
/// (forward/backward passes of sub-batches, MAML tasks) side by side keep every core busy without a
/// synchronisation per product. `body` must not share mutable state between calls.
public func mapOverBLASThreads<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
    let threads = parallelWorkerCount
    guard threads > 1 && count > 1 else { return (0..<count).map(body) }
    var results = [T?](repeating: nil, count: count)
    setBLASThreads(1)
    defer { setBLASThreads(threads) }
    results.withUnsafeMutableBufferPointer { slots in
        DispatchQueue.concurrentPerform(iterations: Swift.min(threads, count)) { worker in
            for i in stride(from: worker, to: count, by: threads) { slots[i] = body(i) }
        }
    }
    return results.map { $0! }
}
