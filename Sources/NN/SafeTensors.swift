import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensor
import Autograd

// The safetensors file format (https://github.com/huggingface/safetensors), the low layer under
// `Checkpoint`:
//
//   8 bytes   N, little-endian UInt64
//   N bytes   JSON header {"__metadata__": {string: string},
//                          name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}
//             padded with spaces to a multiple of 8
//   rest      the tensors' raw little-endian bytes; offsets are relative to the start of this section
//
// Design notes
// - Reading is strict, as the reference Rust reader: the tensors must tile the data section exactly
//   (no gaps, no overlaps, nothing past the end, no trailing bytes) and each byte range must match
//   dtype x shape. Any violation is an error naming the file; nothing is returned partially.
// - Tensors are returned in data order, which for files written here is the `Parameters` order.
// - F32 is the native type. F16, BF16, F64, I32 and I64 are converted to Float on reading (I64 for
//   BERT's `position_ids`; integers must be exactly representable, |v| <= 2^24).
// - Writing goes to a temporary file in the destination folder, flushed, then renamed over the
//   destination: a reader sees the old file or the new one, never a half-written one.

public enum SafeTensors {
    /// Element types this reader understands.
    public enum DType: String, CaseIterable, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i32 = "I32", i64 = "I64"

        public var byteCount: Int {
            switch self {
            case .f16, .bf16: return 2
            case .f32, .i32: return 4
            case .f64, .i64: return 8
            }
        }
    }

    /// Headers larger than this are refused as corrupt (the reference implementation's limit).
    static let maximumHeaderSize = 100_000_000

    /// Reads every tensor of `url` (in data order) and the header's `__metadata__`.
    /// - Parameter accepting: element types allowed; others are `CheckpointError.unsupportedDType`.
    public static func read(
        _ url: URL, accepting: Set<DType> = Set(DType.allCases)
    ) throws -> (parameters: Parameters, metadata: [String: String]) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw CheckpointError.unreadable(file: url, reason: error.localizedDescription)
        }
        return try parse(data, file: url, accepting: accepting)
    }

    struct Entry {
        var name: String
        var dtype: DType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    static func parse(
        _ data: Data, file: URL, accepting: Set<DType>
    ) throws -> (parameters: Parameters, metadata: [String: String]) {
        func corrupt(_ reason: String) -> CheckpointError { .corruptHeader(file: file, reason: reason) }

        guard data.count >= 8 else {
            throw CheckpointError.truncated(file: file, reason: "\(data.count) bytes, shorter than the 8-byte header length")
        }
        let headerSize = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerSize <= UInt64(maximumHeaderSize) else {
            throw corrupt("header length \(headerSize) bytes is implausible (limit \(maximumHeaderSize)); not a safetensors file?")
        }
        guard Int(headerSize) <= data.count - 8 else {
            throw CheckpointError.truncated(file: file, reason: "header says \(headerSize) bytes, only \(data.count - 8) follow")
        }
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(headerSize)))
        guard headerBytes.first == UInt8(ascii: "{") else { throw corrupt("the header does not start with '{'") }
        let header: [String: HeaderValue]
        do {
            header = try JSONDecoder().decode([String: HeaderValue].self, from: headerBytes)
        } catch {
            throw corrupt("the header is not a JSON object of tensors (\(error))")
        }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in header {
            let fields: TensorHeader
            switch (name, value) {
            case ("__metadata__", .metadata(let pairs)):
                metadata = pairs
                continue
            case ("__metadata__", _):
                throw corrupt("__metadata__ is not an object of strings")
            case (_, .tensor(let header)):
                fields = header
            case (_, .metadata):
                throw corrupt("tensor '\(name)' has no dtype, shape and data_offsets")
            case (_, .invalid(let reason)):
                throw corrupt("tensor '\(name)': \(reason)")
            }
            guard let dtype = DType(rawValue: fields.dtype), accepting.contains(dtype) else {
                throw CheckpointError.unsupportedDType(
                    file: file, tensor: name, dtype: fields.dtype,
                    supported: DType.allCases.filter(accepting.contains).map(\.rawValue))
            }
            let (shape, offsets, dtypeName) = (fields.shape, fields.data_offsets, fields.dtype)
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw corrupt("tensor '\(name)' has a negative dimension in shape \(shape)")
            }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw corrupt("tensor '\(name)' has data_offsets \(offsets), not [begin, end] with 0 <= begin <= end")
            }
            let (count, countOverflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            let (byteCount, bytesOverflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
            guard !countOverflow, !bytesOverflow, byteCount == offsets[1] - offsets[0] else {
                throw CheckpointError.badOffsets(
                    file: file, tensor: name,
                    reason: "data_offsets \(offsets) hold \(offsets[1] - offsets[0]) bytes, \(dtypeName) \(shape) needs \(count &* dtype.byteCount)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
        }

        // The tensors must tile the data section exactly.
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        let dataStart = 8 + Int(headerSize)
        let dataSize = data.count - dataStart
        var position = 0
        for entry in entries {
            if entry.begin < position {
                throw CheckpointError.badOffsets(file: file, tensor: entry.name,
                                                 reason: "data_offsets [\(entry.begin), \(entry.end)] overlap the previous tensor (ends at \(position))")
            }
            if entry.begin > position {
                throw CheckpointError.badOffsets(file: file, tensor: entry.name,
                                                 reason: "gap of \(entry.begin - position) bytes before data_offsets [\(entry.begin), \(entry.end)]")
            }
            position = entry.end
        }
        if position > dataSize {
            let last = entries.last!
            throw CheckpointError.truncated(
                file: file, reason: "tensor '\(last.name)' ends at data byte \(last.end), the data section has \(dataSize) bytes")
        }
        if position < dataSize {
            throw CheckpointError.badOffsets(file: file, tensor: entries.last?.name ?? "(none)",
                                             reason: "\(dataSize - position) bytes after the last tensor; the file is not what the header describes")
        }

        var parameters = Parameters()
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for entry in entries {
                let base = UnsafeRawBufferPointer(rebasing: raw[(dataStart + entry.begin)..<(dataStart + entry.end)])
                let scalars = try decode(base, dtype: entry.dtype, count: Tensor.count(of: entry.shape)) { index in
                    CheckpointError.badOffsets(file: file, tensor: entry.name,
                                               reason: "\(entry.dtype.rawValue) element \(index) is not exactly representable as Float")
                }
                parameters[entry.name] = Tensor(shape: entry.shape, scalars: scalars)
            }
        }
        return (parameters, metadata)
    }

    /// One tensor's header entry.
    struct TensorHeader: Decodable {
        var dtype: String
        var shape: [Int]
        var data_offsets: [Int]
    }

    /// A header value: a tensor entry, the string map of `__metadata__`, or neither (with the reason).
    enum HeaderValue: Decodable {
        case tensor(TensorHeader)
        case metadata([String: String])
        case invalid(String)

        init(from decoder: Decoder) throws {
            if let pairs = try? [String: String](from: decoder) {
                self = .metadata(pairs)
                return
            }
            do {
                self = .tensor(try TensorHeader(from: decoder))
            } catch let DecodingError.keyNotFound(key, _) {
                self = .invalid("no \(key.stringValue)")
            } catch let DecodingError.typeMismatch(type, context) {
                self = .invalid("\(Self.path(context)) is not \(type) (dtype is a string, shape and data_offsets lists of integers)")
            } catch let DecodingError.dataCorrupted(context) {
                self = .invalid("\(Self.path(context)): \(context.debugDescription) (expected integers)")
            } catch {
                self = .invalid("\(error)")
            }
        }

        /// `.shape[0]`-style location inside a tensor entry.
        private static func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.dropFirst().map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return path.isEmpty ? "the entry" : path
        }
    }

    /// Little-endian elements of `dtype` to Float.
    private static func decode(
        _ bytes: UnsafeRawBufferPointer, dtype: DType, count: Int, inexact: (Int) -> CheckpointError
    ) throws -> [Float] {
        var scalars = [Float](repeating: 0, count: count)
        try scalars.withUnsafeMutableBufferPointer { out in
            switch dtype {
            case .f32:
                for i in 0..<count {
                    out[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            case .f16:
                for i in 0..<count {
                    out[i] = Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                }
            case .bf16:
                for i in 0..<count {
                    let high = UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    out[i] = Float(bitPattern: high << 16)
                }
            case .f64:
                for i in 0..<count {
                    out[i] = Float(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                }
            case .i32, .i64:
                for i in 0..<count {
                    let value = dtype == .i32
                        ? Int64(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                        : Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                    guard abs(value) <= 1 << 24 else { throw inexact(i) }
                    out[i] = Float(value)
                }
            }
        }
        return scalars
    }

    /// Writes `parameters` as F32 tensors, in order, with `metadata`, atomically replacing `url`. Returns the
    /// CRC-32 of the bytes written (what a checkpoint's config.json records), computed as they are written.
    @discardableResult
    public static func write(_ parameters: Parameters, metadata: [String: String] = [:], to url: URL) throws -> UInt32 {
        for name in parameters.names where name.isEmpty || name == "__metadata__" {
            throw CheckpointError.writeFailed(file: url, reason: "tensor name '\(name)' is reserved or empty")
        }
        var header = "{"
        if !metadata.isEmpty {
            header += quoted("__metadata__") + ":{"
            header += metadata.keys.sorted().map { quoted($0) + ":" + quoted(metadata[$0]!) }.joined(separator: ",")
            header += "},"
        }
        var offset = 0
        var fields: [String] = []
        for (name, tensor) in parameters {
            let end = offset + 4 * tensor.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append(quoted(name) + ":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += fields.joined(separator: ",") + "}"
        if header.hasSuffix(",}") { header = String(header.dropLast(2)) + "}" }  // metadata only
        var headerBytes = Data(header.utf8)
        headerBytes.append(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8))

        var crc = CRC32.Running()
        try writeAtomically(to: url) { handle in
            func write(_ bytes: Data) throws {
                crc.add(bytes)
                try handle.write(contentsOf: bytes)
            }
            var prefix = Data()
            withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { prefix.append(contentsOf: $0) }
            try write(prefix)
            try write(headerBytes)
            for (_, tensor) in parameters {
                let bytes = tensor.scalars.withUnsafeBufferPointer { buffer in
                    var chunk = Data(count: 4 * buffer.count)
                    chunk.withUnsafeMutableBytes { out in
                        for i in 0..<buffer.count {
                            out.storeBytes(of: buffer[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                        }
                    }
                    return chunk
                }
                try write(bytes)
            }
        }
        return crc.value
    }

    /// A JSON string literal.
    private static func quoted(_ string: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return String(decoding: try! encoder.encode(string), as: UTF8.self)
    }
}

/// Writes a file through `body` into a temporary sibling, flushes it to disk, then renames it over
/// `url` (atomic on POSIX file systems). On any failure the temporary file is removed and `url` is
/// untouched.
func writeAtomically(to url: URL, _ body: (FileHandle) throws -> Void) throws {
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
    guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
        throw CheckpointError.writeFailed(file: url, reason: "cannot create \(temporary.lastPathComponent) in \(directory.path)")
    }
    do {
        let handle = try FileHandle(forWritingTo: temporary)
        do {
            try body(handle)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        guard rename(temporary.path, url.path) == 0 else {
            throw CheckpointError.writeFailed(file: url, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        if error is CheckpointError { throw error }
        throw CheckpointError.writeFailed(file: url, reason: error.localizedDescription)
    }
}
