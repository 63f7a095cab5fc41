import Foundation
import TestSupport
import XCTest
@testable import Recommender

/// Seeded random damage to each file of a valid CRS dataset : the
/// loader reads the mutant or refuses it with its own error naming the file; it never crashes.
final class CRSFuzzTests: XCTestCase {
    func testFuzzEveryDatasetFile() throws {
        let directory = try CRSFixture.write()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        var refused = 0
        for (index, name) in CRSFixture.files.keys.sorted().enumerated() {
            let original = Data(CRSFixture.files[name]!.utf8)
            let counts = Fuzz.run(original, file: directory.appendingPathComponent(name), count: Fuzz.iterations(400),
                                  seed: UInt64(100 + index), accepts: { $0 is CRSDataError || "\($0)".contains(name) }) { folder in
                _ = try CRSDataset.load(directory: folder.deletingLastPathComponent())
            }
            refused += counts.refused
            try original.write(to: directory.appendingPathComponent(name))
        }
        XCTAssertGreaterThan(refused, 0)
    }
}
