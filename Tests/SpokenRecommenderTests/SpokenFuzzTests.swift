import Foundation
import TestSupport
import XCTest
@testable import Recommender
@testable import SpokenRecommender

/// The labelled-reply and style files, damaged at random: read, or refused with an error naming the file.
final class SpokenFuzzTests: XCTestCase {
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

    func testFuzzVoiceSpecs() throws {
        let folder = try TemporaryFolder("voice-fuzz")
        defer { folder.remove() }
        let spec = VoiceSpec(name: "cowboy", split: .test, persona: ["i am a cowboy ."], askGenre: ["howdy ! do you like {name} ?"],
                             askEra: ["the {name} ?"], recommend: ["try {name} !"], yes: ["yeehaw !"], no: ["shucks ."], closing: ["bye !"])
        let (read, refused) = Fuzz.run(try JSONEncoder().encode([spec]), file: folder.file("voices.json"), count: Fuzz.iterations(1500), seed: 9,
                                       accepts: { "\($0)".contains("voices.json") }) { _ = try VoiceSpec.load($0) }
        XCTAssertGreaterThan(refused, 0)
        XCTAssertGreaterThan(read + refused, 0)
    }
}
