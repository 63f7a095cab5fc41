import Foundation

/// One log line per step for long jobs: step, loss, rate, elapsed and ETA (llm.c style), printed at
/// most every `interval` seconds so logs stay short.
public struct ProgressReporter {
    public let label: String
    public let total: Int
    public let unit: String
    public let interval: Double
    /// Lines go to standard error instead of standard output (for commands whose output is data).
    public var toStandardError = false
    private let start = Date()
    private var lastPrint = Date.distantPast
    private var work = 0.0
    /// The step this process started from (a resumed run starts past 0); the ETA counts only the steps after it.
    private let startStep: Int

    /// - Parameters: total steps; `unit` names what `rate` counts (tokens, episodes); `startStep`: where a resumed
    ///   run picked up (callers that report in chunks would make "one step before the first report" wrong).
    public init(label: String, total: Int, unit: String = "tokens", interval: Double = 5, startStep: Int = 0) {
        self.label = label
        self.total = total
        self.unit = unit
        self.interval = interval
        self.startStep = startStep
    }

    /// Records that step `step` (1-based) finished after `work` more units, and prints a line when due
    /// (always on the last step). `extra` is appended (e.g. validation figures).
    public mutating func update(step: Int, loss: Float, work: Double, extra: String = "") {
        self.work += work
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= interval || step == total || !extra.isEmpty else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let rate = self.work / max(elapsed, 1e-9)
        let eta = Self.eta(elapsed: elapsed, stepsDone: step - startStep, remaining: total - step)
        let line = "\(label) step \(step)/\(total) | loss " + String(format: "%.4f", loss)
            + " | " + String(format: "%.0f", rate) + " \(unit)/s | elapsed \(formatDuration(elapsed)) | ETA \(formatDuration(eta))"
        let text = line + (extra.isEmpty ? "" : " | " + extra)
        if toStandardError {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        } else {
            print(text)
            fflush(stdout)
        }
    }

    /// Seconds left at the rate of the steps this process ran.
    public static func eta(elapsed: Double, stepsDone: Int, remaining: Int) -> Double {
        stepsDone > 0 ? elapsed / Double(stepsDone) * Double(max(remaining, 0)) : 0
    }
}

/// "1h02m", "3m05s", "12s".
public func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}
