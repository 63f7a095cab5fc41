import ArgumentParser
import Foundation
import Tensor

/// The one command-line tool. Each job is a subcommand in its own file (`<Job>Command.swift`).
@main
struct Paml: ParsableCommand {
    static let version = "0.5.0"

    static let configuration = CommandConfiguration(
        commandName: "paml",
        abstract: "Persona-agnostic meta-learned dialogue (PAML) and a meta-learned conversational recommender.",
        discussion: """
        Data is read from --data, or the PAML_DATA environment variable, or ../shared/corpora. Jobs use 2 threads; \
        `paml --threads N <command>` (or PAML_THREADS) sets another count.
        Trained models ship in Checkpoints/; results and how to rerun them are in Evaluation/. Shipped files are \
        found from any folder (set PAML_HOME to the package folder to choose which); commands write under runs/ \
        by default and write into Checkpoints/ or Evaluation/ only with --out and --force.
        """,
        version: "paml \(version)",
        subcommands: [DataCommand.self, TrainCommand.self, ExperimentCommand.self, ChatCommand.self, GenerateCommand.self, AdaptCommand.self, BenchCommand.self, BleuCommand.self, RecommendCommand.self, NLICommand.self, ScoreCommand.self]
    )

    /// Line-buffered stdout: progress and result lines reach a log file or pipe as they are printed.
    /// Errors become one line on stderr and a non-zero exit; Foundation's file errors are reworded first.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var arguments = Array(CommandLine.arguments.dropFirst())
            // One place for the thread count of every job: `paml --threads N <command> ...`, else $PAML_THREADS,
            // else 2 (the machines this targets have 2 cores). The benchmarks' own --threads set their measurements.
            var threads = ProcessInfo.processInfo.environment["PAML_THREADS"].flatMap(Int.init) ?? 2
            if arguments.first == "--threads" {
                guard arguments.count >= 2, let n = Int(arguments[1]), (1...256).contains(n) else {
                    throw ValidationError("--threads needs a whole number in 1...256 before the command, e.g. paml --threads 2 train")
                }
                threads = n
                arguments.removeFirst(2)
            }
            setBLASThreads(min(max(threads, 1), 256))
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            exit(withError: readable(error))
        }
    }

    /// Foundation file errors (NSCocoaErrorDomain, POSIX) as "path: reason"; every other error unchanged.
    static func readable(_ error: Error) -> Error {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return error }
        let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path ?? "file"
        let reason: String
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file"
        case .fileReadInapplicableStringEncoding, .fileReadCorruptFile: reason = "not valid UTF-8 text"
        case .fileReadNoPermission, .fileWriteNoPermission: reason = "permission denied"
        case .fileWriteOutOfSpace: reason = "no space left on the device"
        default: reason = ns.localizedFailureReason ?? "cannot be read or written (error \(ns.code))"
        }
        return CommandLineError(message: "\(path): \(reason)")
    }
}

/// An error that is already a finished one-line message.
struct CommandLineError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
