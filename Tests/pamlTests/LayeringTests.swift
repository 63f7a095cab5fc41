import Foundation
import XCTest

/// Modules depend downward only, along the chain of ARCHITECTURE.md:
/// CBLAS/CICU -> Tensor -> Autograd -> NN -> Text -> {Dialogue, Metrics, NLI, Recommender} -> MetaLearning ->
/// SpokenRecommender -> Experiments -> paml. A module imports only modules of a lower level: none of its own level
/// (no sideways imports) or above (no cycles); only paml imports Experiments.
final class LayeringTests: XCTestCase {
    static let levels: [String: Int] = [
        "CBLAS": 0, "CICU": 0, "Tensor": 1, "Autograd": 2, "NN": 3, "Text": 4,
        "Dialogue": 5, "Metrics": 5, "NLI": 5, "Recommender": 5,
        "MetaLearning": 6, "SpokenRecommender": 7, "Experiments": 8, "paml": 9,
    ]

    func testEveryImportPointsDown() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let modules = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { !$0.hasPrefix(".") }.sorted()
        XCTAssertEqual(Set(modules), Set(Self.levels.keys), "a module without a level (add it to the chain) or a level without a module")
        var checked = 0
        for module in modules {
            let folder = sources.appendingPathComponent(module)
            let files = FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            for file in files {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    let imported: Substring
                    if words.first == "import", words.count == 2 { imported = words[1] }
                    else if words.first == "@testable", words.count == 3 { imported = words[2] }
                    else { continue }
                    guard let level = Self.levels[String(imported)] else { continue }   // Foundation, Dispatch, ArgumentParser...
                    checked += 1
                    XCTAssertLessThan(level, Self.levels[module]!, "\(module)/\(file) imports \(imported), which is not below it")
                }
            }
        }
        XCTAssertGreaterThan(checked, 100)
    }
}
