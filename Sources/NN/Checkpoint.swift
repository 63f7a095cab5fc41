import Foundation
import Tensor
import Autograd

// Checkpoints: a folder holding the weights, the model's typed config and, for resuming training,
// the optimizer state.
//
//   <folder>/config.json                  {"formatVersion": 1, "kind": "...", "config": {...},
//                                          "metadata": {...}, "weights": "model-<id>.safetensors",
//                                          "weightsChecksum": "crc32:<hex>",
//                                          "optimizer": "optimizer-<id>.safetensors" (optional)}
//   <folder>/model-<id>.safetensors       the parameters, F32, in model order
//   <folder>/optimizer-<id>.safetensors   the optimizer slots; __metadata__ holds kind and step
//
// Design notes
// - Atomic: each save writes files under a fresh <id>, then replaces config.json (temp + rename) as
//   the single commit point, then deletes the previous save's files. An interrupted save leaves the
//   previous checkpoint loadable; config.json never names a missing or half-written file.
// - Strict: the format version must be one this code reads; with `expecting`, missing, unexpected
//   and mis-shaped tensors are errors naming the tensors and the file (mlx-swift's strict `update`,
//   llm.c's versioned header). A checkpoint is returned whole or not at all.
// - Trusted: the weights file's CRC-32 must match `weightsChecksum` (a flipped exponent bit otherwise
//   loads as a model that says "i think think think"), no tensor may hold NaN or Inf, and a config that
//   conforms to `ValidatedConfig` must validate. Checkpoints written before checksums existed load
//   without the CRC check; every other check still applies.
// - Stale temporary files (`.<name>.tmp-*`) of interrupted saves are removed by the next save.
// - `config.json` is human-readable and diffable; the weights are plain safetensors that Python
//   loads with `safetensors.numpy.load_file`.

/// Errors of checkpoint and safetensors reading and writing; each names the file and the problem.
public enum CheckpointError: Error, CustomStringConvertible {
    case unreadable(file: URL, reason: String)
    case truncated(file: URL, reason: String)
    case corruptHeader(file: URL, reason: String)
    case unsupportedDType(file: URL, tensor: String, dtype: String, supported: [String])
    case badOffsets(file: URL, tensor: String, reason: String)
    case unsupportedVersion(file: URL, found: Int?, supported: Int)
    case kindMismatch(file: URL, found: String, expected: String)
    case badConfig(file: URL, reason: String)
    case tensorMismatch(file: URL, missing: [String], unexpected: [String], misshaped: [String: (found: [Int], expected: [Int])])
    case optimizerMismatch(String)
    case writeFailed(file: URL, reason: String)
    case checksumMismatch(file: URL, found: String, expected: String)
    case nonFinite(file: URL, tensor: String, index: Int, value: Float)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file.path): cannot read: \(reason)"
        case let .truncated(file, reason):
            return "\(file.path): truncated: \(reason) (hint: an interrupted copy or download; fetch the file again)"
        case let .corruptHeader(file, reason):
            return "\(file.path): corrupt safetensors header: \(reason)"
        case let .unsupportedDType(file, tensor, dtype, supported):
            return "\(file.path): tensor '\(tensor)' has dtype \(dtype); supported here: \(supported.joined(separator: ", "))"
        case let .badOffsets(file, tensor, reason):
            return "\(file.path): tensor '\(tensor)': \(reason)"
        case let .unsupportedVersion(file, found, supported):
            let what = found.map { "format version \($0)" } ?? "no formatVersion"
            return "\(file.path): \(what); this build reads version \(supported) (hint: convert it with the release that wrote it)"
        case let .kindMismatch(file, found, expected):
            return "\(file.path): a '\(found)' checkpoint, expected '\(expected)' (hint: wrong --checkpoint for this command?)"
        case let .badConfig(file, reason):
            return "\(file.path): \(reason)"
        case let .tensorMismatch(file, missing, unexpected, misshaped):
            var parts: [String] = []
            func list(_ names: [String]) -> String {
                names.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (names.count > 5 ? ", ... (\(names.count) in all)" : "")
            }
            if !missing.isEmpty { parts.append("missing \(list(missing))") }
            if !unexpected.isEmpty { parts.append("unexpected \(list(unexpected))") }
            for name in misshaped.keys.sorted().prefix(5) {
                parts.append("'\(name)' has shape \(misshaped[name]!.found), the model expects \(misshaped[name]!.expected)")
            }
            return "\(file.path): tensors do not match the model: \(parts.joined(separator: "; ")) "
                + "(hint: the checkpoint was saved by another model kind, config or code version; loading is strict)"
        case let .optimizerMismatch(reason):
            return "optimizer state does not fit: \(reason)"
        case let .writeFailed(file, reason):
            return "\(file.path): write failed: \(reason)"
        case let .checksumMismatch(file, found, expected):
            return "\(file.path): checksum \(found), config.json says \(expected): the file is damaged (hint: copy it again from its source)"
        case let .nonFinite(file, tensor, index, value):
            return "\(file.path): tensor '\(tensor)' holds \(value) at element \(index); weights must be finite (the model that wrote it diverged, or the file is damaged)"
        }
    }
}

/// A saved model: weights, the JSON of its typed config, free-form metadata (data, metrics, commit),
/// and optionally the optimizer state to resume training.
public struct Checkpoint {
    /// The folder layout version this code writes and reads.
    public static let formatVersion = 1
    static let configFile = "config.json"

    /// What model the weights belong to (e.g. "paml.seq2seq"); checked on load when given.
    public var kind: String
    public var parameters: Parameters
    /// The config as JSON; decode it with `decodeConfig`.
    public var config: Data
    public var metadata: [String: String]
    public var optimizer: OptimizerState?
    /// The folder and weights file it was loaded from (for messages).
    public var folder: URL?
    public var weightsFile: URL?
    /// "crc32:<hex>" of the weights file, when config.json records it.
    public var weightsChecksum: String?

    /// Decodes the saved config.
    public func decodeConfig<Config: Decodable>(_ type: Config.Type) throws -> Config {
        let file = (folder ?? URL(fileURLWithPath: ".")).appendingPathComponent(Checkpoint.configFile)
        do {
            return try JSONDecoder().decode(type, from: config)
        } catch {
            throw CheckpointError.badConfig(file: file, reason: "config does not decode as \(type): \(error)")
        }
    }

    /// Saves a checkpoint into `folder` (created if needed), atomically replacing a previous one.
    public static func save(
        parameters: Parameters, config: some Encodable, kind: String, to folder: URL,
        metadata: [String: String] = [:], optimizer: OptimizerState? = nil
    ) throws {
        let manifestURL = folder.appendingPathComponent(configFile)
        // Everything that can fail without touching the disk comes first.
        let configObject: Any
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            configObject = try JSONSerialization.jsonObject(with: encoder.encode(config), options: .fragmentsAllowed)
        } catch {
            throw CheckpointError.writeFailed(file: manifestURL, reason: "config does not encode: \(error)")
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError.writeFailed(file: folder, reason: error.localizedDescription)
        }

        let id = UUID().uuidString.lowercased().prefix(13).replacingOccurrences(of: "-", with: "")
        let weightsName = "model-\(id).safetensors"
        let optimizerName = optimizer.map { _ in "optimizer-\(id).safetensors" }
        var manifest: [String: Any] = [
            "formatVersion": formatVersion, "kind": kind, "config": configObject,
            "metadata": metadata, "weights": weightsName,
        ]
        if let optimizerName { manifest["optimizer"] = optimizerName }

        var written: [URL] = []
        do {
            try requireFinite(parameters, file: folder.appendingPathComponent(weightsName))
            let weightsURL = folder.appendingPathComponent(weightsName)
            let checksum = try SafeTensors.write(parameters, metadata: ["paml.formatVersion": "\(formatVersion)", "paml.kind": kind],
                                                 to: weightsURL)
            written.append(weightsURL)
            manifest["weightsChecksum"] = CRC32.tag(checksum)
            if let optimizer, let optimizerName {
                let url = folder.appendingPathComponent(optimizerName)
                try SafeTensors.write(optimizer.slots, metadata: ["paml.optimizer": optimizer.kind, "paml.step": "\(optimizer.step)"],
                                      to: url)
                written.append(url)
            }
            let json = try JSONSerialization.data(withJSONObject: manifest,
                                                  options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try writeAtomically(to: manifestURL) { try $0.write(contentsOf: json + Data("\n".utf8)) }
        } catch {
            for url in written { try? FileManager.default.removeItem(at: url) }
            throw error
        }
        // Committed; remove files of earlier saves (and of interrupted ones).
        let keep = Set([weightsName] + (optimizerName.map { [$0] } ?? []))
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in entries where (!keep.contains(name) && name.hasSuffix(".safetensors")
            && (name.hasPrefix("model-") || name.hasPrefix("optimizer-"))) || isStaleTemporary(name) {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    /// Adds `entries` to the metadata of the checkpoint in `folder` (e.g. measured accuracies), rewriting
    /// config.json atomically; weights and config are untouched.
    public static func updateMetadata(in folder: URL, _ entries: [String: String]) throws {
        let manifestURL = folder.appendingPathComponent(configFile)
        let data: Data
        do { data = try Data(contentsOf: manifestURL) } catch {
            throw CheckpointError.unreadable(file: manifestURL, reason: error.localizedDescription)
        }
        guard var manifest = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              var metadata = (manifest["metadata"] ?? [String: String]()) as? [String: String] else {
            throw CheckpointError.badConfig(file: manifestURL, reason: "not a checkpoint config with string metadata")
        }
        metadata.merge(entries) { $1 }
        manifest["metadata"] = metadata
        let json = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try writeAtomically(to: manifestURL) { try $0.write(contentsOf: json + Data("\n".utf8)) }
    }

    /// A temporary file that `writeAtomically` leaves behind when a save is killed.
    static func isStaleTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.contains(".tmp-") }

    /// Throws `nonFinite` for the first NaN or Inf in `parameters`.
    public static func requireFinite(_ parameters: Parameters, file: URL) throws {
        for (name, tensor) in parameters {
            if let index = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError.nonFinite(file: file, tensor: name, index: index, value: tensor.scalars[index])
            }
        }
    }

    /// Loads the checkpoint in `folder`.
    /// - Parameters:
    ///   - kind: when given, the saved kind must equal it.
    ///   - expecting: when given (e.g. a freshly built model's parameters), the saved tensors must have
    ///     exactly its names and shapes; the result follows its order.
    public static func load(from folder: URL, kind: String? = nil, expecting: Parameters? = nil) throws -> Checkpoint {
        let manifestURL = folder.appendingPathComponent(configFile)
        let manifestData: Data
        do {
            manifestData = try Data(contentsOf: manifestURL)
        } catch {
            throw CheckpointError.unreadable(file: manifestURL, reason: "\(error.localizedDescription) (hint: is \(folder.path) a checkpoint folder?)")
        }
        guard let manifest = (try? JSONSerialization.jsonObject(with: manifestData)) as? [String: Any] else {
            throw CheckpointError.badConfig(file: manifestURL, reason: "not a JSON object")
        }
        let version = (manifest["formatVersion"] as? NSNumber).flatMap { Int(exactly: $0.doubleValue) }
        guard version == formatVersion else {
            throw CheckpointError.unsupportedVersion(file: manifestURL, found: version, supported: formatVersion)
        }
        guard let savedKind = manifest["kind"] as? String else {
            throw CheckpointError.badConfig(file: manifestURL, reason: "no \"kind\" string")
        }
        if let kind, kind != savedKind {
            throw CheckpointError.kindMismatch(file: manifestURL, found: savedKind, expected: kind)
        }
        guard let configObject = manifest["config"] else {
            throw CheckpointError.badConfig(file: manifestURL, reason: "no \"config\"")
        }
        guard let metadata = (manifest["metadata"] ?? [String: String]()) as? [String: String] else {
            throw CheckpointError.badConfig(file: manifestURL, reason: "\"metadata\" must be an object of strings")
        }
        func fileURL(_ key: String) throws -> URL? {
            guard let value = manifest[key] else { return nil }
            guard let name = value as? String, !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
                throw CheckpointError.badConfig(file: manifestURL, reason: "\"\(key)\" must be a file name in the folder")
            }
            return folder.appendingPathComponent(name)
        }
        guard let weightsURL = try fileURL("weights") else {
            throw CheckpointError.badConfig(file: manifestURL, reason: "no \"weights\" file name")
        }

        // The file is read once; structure first (the most specific message), then the checksum, then the values.
        let bytes: Data
        do { bytes = try Data(contentsOf: weightsURL, options: .mappedIfSafe) } catch {
            throw CheckpointError.unreadable(file: weightsURL, reason: error.localizedDescription)
        }
        var parameters = try SafeTensors.parse(bytes, file: weightsURL, accepting: [.f32]).parameters
        if let expected = manifest["weightsChecksum"] {
            guard let expected = expected as? String else {
                throw CheckpointError.badConfig(file: manifestURL, reason: "\"weightsChecksum\" must be a string like crc32:0123abcd")
            }
            let found = CRC32.tag(bytes)
            guard found == expected else { throw CheckpointError.checksumMismatch(file: weightsURL, found: found, expected: expected) }
        }
        try requireFinite(parameters, file: weightsURL)
        if let expecting {
            parameters = try matching(parameters, expecting, file: weightsURL)
        }
        var optimizer: OptimizerState?
        if let optimizerURL = try fileURL("optimizer") {
            let (slots, info) = try SafeTensors.read(optimizerURL, accepting: [.f32])
            guard let optimizerKind = info["paml.optimizer"], let step = info["paml.step"].flatMap(Int.init) else {
                throw CheckpointError.corruptHeader(file: optimizerURL, reason: "__metadata__ lacks paml.optimizer or paml.step")
            }
            try requireFinite(slots, file: optimizerURL)
            optimizer = OptimizerState(kind: optimizerKind, step: step, slots: slots)
        }
        let config = try JSONSerialization.data(withJSONObject: configObject, options: [.fragmentsAllowed, .sortedKeys])
        return Checkpoint(kind: savedKind, parameters: parameters, config: config, metadata: metadata,
                          optimizer: optimizer, folder: folder, weightsFile: weightsURL,
                          weightsChecksum: manifest["weightsChecksum"] as? String)
    }

    /// Loads a checkpoint and decodes its config; `expecting` builds the model's parameters from the
    /// config (their names and shapes are checked as in `load(from:kind:expecting:)`).
    public static func load<Config: Decodable>(
        from folder: URL, as type: Config.Type, kind: String? = nil,
        expecting: ((Config) throws -> Parameters)? = nil
    ) throws -> (config: Config, checkpoint: Checkpoint) {
        var checkpoint = try load(from: folder, kind: kind)
        let config = try checkpoint.decodeConfig(type)
        if let validated = config as? ValidatedConfig {
            do { try validated.validate() } catch let error as ConfigError {
                throw CheckpointError.badConfig(file: folder.appendingPathComponent(configFile), reason: "config.\(error)")
            }
        }
        if let expecting {
            checkpoint.parameters = try matching(checkpoint.parameters, expecting(config),
                                                 file: checkpoint.weightsFile ?? folder)
        }
        return (config, checkpoint)
    }

    /// `saved` reordered as `expected`, or a `tensorMismatch` listing every difference.
    static func matching(_ saved: Parameters, _ expected: Parameters, file: URL) throws -> Parameters {
        let missing = expected.names.filter { !saved.contains($0) }
        let unexpected = saved.names.filter { !expected.contains($0) }
        var misshaped: [String: (found: [Int], expected: [Int])] = [:]
        var out = Parameters()
        for (name, tensor) in expected {
            guard let found = saved[name] else { continue }
            if found.shape != tensor.shape { misshaped[name] = (found.shape, tensor.shape) }
            out[name] = found
        }
        guard missing.isEmpty, unexpected.isEmpty, misshaped.isEmpty else {
            throw CheckpointError.tensorMismatch(file: file, missing: missing, unexpected: unexpected, misshaped: misshaped)
        }
        return out
    }
}
