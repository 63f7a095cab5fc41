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
