import Foundation
import XCTest
import TestSupport
import Text

/// The real corpora at ../shared/corpora (or $PAML_DATA); tests on them skip only when the folder is absent.
enum RealData {
    /// The one corpora finder (`TestSupport.Corpora`), or its default location when absent (tests then skip).
    static var root: CorpusRoot {
        CorpusRoot(explicit: (Corpora.root ?? URL(fileURLWithPath: "../shared/corpora")).path)
    }

    static func file(_ relative: String) throws -> URL {
        let url = root.file(relative)
        guard FileManager.default.fileExists(atPath: root.url.path) else {
            throw XCTSkip("real corpora not found at \(root.url.path)")
        }
        return url
    }
}

/// A fresh temporary folder for fixtures written from string literals.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("paml-text-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
