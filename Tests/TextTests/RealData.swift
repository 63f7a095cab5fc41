import Foundation
import XCTest
import Text

/// The real corpora at ../shared/corpora (or $PAML_DATA); tests on them skip only when the folder is absent.
enum RealData {
    static var root: CorpusRoot {
        if ProcessInfo.processInfo.environment["PAML_DATA"] != nil { return CorpusRoot() }
        // Package root = three levels above this file (Tests/TextTests/RealData.swift).
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return CorpusRoot(explicit: packageRoot.appendingPathComponent("../shared/corpora").standardizedFileURL.path)
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
