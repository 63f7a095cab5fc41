import Foundation
import TestSupport
import XCTest
@testable import Recommender

/// Seeded random damage to each file of a valid CRS dataset (and to the labelled-reply and style files): the
/// loader reads the mutant or refuses it with its own error naming the file; it never crashes.
final class CRSFuzzTests: XCTestCase {
    func testFuzzEveryDatasetFile() throws {
        let directory = try Fixture.write()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        var refused = 0
        for (index, name) in Fixture.files.keys.sorted().enumerated() {
            let original = Data(Fixture.files[name]!.utf8)
            let counts = Fuzz.run(original, file: directory.appendingPathComponent(name), count: Fuzz.iterations(400),
                                  seed: UInt64(100 + index), accepts: { $0 is CRSDataError || "\($0)".contains(name) }) { folder in
                _ = try CRSDataset.load(directory: folder.deletingLastPathComponent())
            }
            refused += counts.refused
            try original.write(to: directory.appendingPathComponent(name))
        }
        XCTAssertGreaterThan(refused, 0)
    }

    func testFuzzLabelledRepliesAndStyleExamples() throws {
        let folder = try TemporaryFolder("crs-fuzz")
        defer { folder.remove() }
        let replies = Data("action\tname\treply\tlabel\torigin\nask\trock\tyes i love rock\taccept\thand\nrecommend\tBlur\tno thanks\treject\thand\n".utf8)
        Fuzz.run(replies, file: folder.file("replies.tsv"), count: Fuzz.iterations(1500), seed: 7,
                 accepts: { "\($0)".contains("replies.tsv") }) { _ = try LabelledReply.read($0) }
        let style = Data("ask\trock\tyo, are you into rock ?\nrecommend\tBlur\tyou gotta hear Blur !\n".utf8)
        Fuzz.run(style, file: folder.file("style.tsv"), count: Fuzz.iterations(1500), seed: 8,
                 accepts: { "\($0)".contains("style.tsv") }) { _ = try ActionPairMiner.styleExamples($0) }
    }
}
