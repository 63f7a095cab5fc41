/// A problem in an input file, named by file, line (1-based, 0 when the whole file is concerned) and problem.
public struct TextError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let line: Int
    public let problem: String

    public init(file: String, line: Int = 0, _ problem: String) {
        self.file = file
        self.line = line
        self.problem = problem
    }

    public var description: String { line > 0 ? "\(file):\(line): \(problem)" : "\(file): \(problem)" }
}
