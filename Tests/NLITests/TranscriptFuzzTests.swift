import Foundation
import TestSupport
import Text
import XCTest
@testable import NLI

/// Transcripts handed to `paml score`, damaged at random: read, or refused with a TextError naming the file.
final class TranscriptFuzzTests: XCTestCase {
    func testFuzzTranscripts() throws {
        let folder = try TemporaryFolder("transcript-fuzz")
        defer { folder.remove() }
        let jsonl = Data("""
        {"speaker": "bot", "text": "i have two dogs .", "persona": ["i love dogs .", "i am a nurse ."]}
        {"speaker": "bot", "text": "i work nights .", "persona": ["i am a nurse ."]}

        """.utf8)
        let counts = Fuzz.run(jsonl, file: folder.file("t.jsonl"), count: Fuzz.iterations(3000), seed: 9,
                              accepts: { $0 is TextError }) { _ = try Transcript.read($0) }
        XCTAssertGreaterThan(counts.read, 0)
        XCTAssertGreaterThan(counts.refused, 0)
        let text = Data("1 your persona: i love dogs.\n2 hi\thello , i have dogs .\n3 nice\tthey are big .\n".utf8)
        Fuzz.run(text, file: folder.file("t.txt"), count: Fuzz.iterations(2000), seed: 10,
                 accepts: { $0 is TextError }) { _ = try Transcript.read($0) }
    }

    func testCRLFTranscriptReadsLikeLF() throws {
        let lf = try Transcript.parseJSONL(#"{"speaker": "a", "text": "hi", "persona": ["x"]}"# + "\n\n" + #"{"speaker": "b", "text": "yo", "persona": []}"#, file: "t")
        let crlf = try Transcript.parseJSONL(#"{"speaker": "a", "text": "hi", "persona": ["x"]}"# + "\r\n\r\n" + #"{"speaker": "b", "text": "yo", "persona": []}"#, file: "t")
        XCTAssertEqual(lf, crlf)
        XCTAssertEqual(crlf.map(\.line), [1, 3])
    }
}
