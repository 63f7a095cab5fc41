import Foundation

/// A setting outside the values it may take. Every config of the library throws it from `validate()` (called by
/// the command line before a job runs, by the jobs that take a config, and on every checkpoint load), so the
/// command line and a checkpoint's config.json get the same one-line message naming the field and the allowed values.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The setting, as the config names it (`transformer.heads`, `learningRate`).
    public var field: String
    public var value: String
    /// What it may be, in words ("a whole number >= 1", "finite and in [0, 1)").
    public var allowed: String

    public init(field: String, value: String, allowed: String) {
        self.field = field
        self.value = value
        self.allowed = allowed
    }

    public var description: String { "\(field) = \(value): must be \(allowed)" }
}

/// A config that can say whether its values make sense together.
public protocol ValidatedConfig {
    /// Throws a `ConfigError` naming the first field that is out of range.
    func validate() throws
}

/// The range checks configs use; each throws a `ConfigError` naming `field`.
public enum Check {
    public static func atLeast(_ value: Int, _ minimum: Int, _ field: String) throws {
        guard value >= minimum else { throw ConfigError(field: field, value: "\(value)", allowed: "a whole number >= \(minimum)") }
    }

    public static func within(_ value: Int, _ range: ClosedRange<Int>, _ field: String) throws {
        guard range.contains(value) else {
            throw ConfigError(field: field, value: "\(value)", allowed: "a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
    }

    /// Finite and in [lower, upper] (`upperOpen`: [lower, upper)).
    public static func finite(_ value: Float, _ field: String, from lower: Float = -.greatestFiniteMagnitude,
                              to upper: Float = .greatestFiniteMagnitude, upperOpen: Bool = false) throws {
        let inside = value.isFinite && value >= lower && (upperOpen ? value < upper : value <= upper)
        guard inside else {
            let range = upper == .greatestFiniteMagnitude ? ">= \(lower)" : "in [\(lower), \(upper)\(upperOpen ? ")" : "]")"
            throw ConfigError(field: field, value: "\(value)", allowed: "finite and \(range)")
        }
    }

    /// Finite and > 0, at most `upper`.
    public static func positive(_ value: Float, _ field: String, upTo upper: Float = .greatestFiniteMagnitude) throws {
        guard value.isFinite, value > 0, value <= upper else {
            let range = upper == .greatestFiniteMagnitude ? "> 0" : "in (0, \(upper)]"
            throw ConfigError(field: field, value: "\(value)", allowed: "finite and \(range)")
        }
    }

    /// A probability of dropping a unit: finite and in [0, 1).
    public static func dropout(_ value: Float, _ field: String) throws {
        try finite(value, field, from: 0, to: 1, upperOpen: true)
    }
}

/// CRC-32 (IEEE 802.3, the polynomial of zlib, gzip and PNG) of a byte buffer. Checkpoints store it for each
/// weights file so that a flipped bit is refused on load instead of answering with nonsense.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ data: Data) -> UInt32 {
        var running = Running()
        running.add(data)
        return running.value
    }

    /// A checksum over bytes that arrive in pieces (a file as it is written): the same value as `checksum` of
    /// the pieces joined.
    public struct Running {
        private var crc: UInt32 = 0xFFFF_FFFF
        public init() {}

        public mutating func add(_ data: Data) {
            data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                table.withUnsafeBufferPointer { table in
                    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
                }
            }
        }

        public var value: UInt32 { crc ^ 0xFFFF_FFFF }
        public var tag: String { CRC32.tag(value) }
    }

    /// "crc32:" and eight lower-case hex digits, the form config.json stores.
    public static func tag(_ data: Data) -> String { tag(checksum(data)) }
    public static func tag(_ value: UInt32) -> String { "crc32:" + String(format: "%08x", value) }
}

/// An exclusive lock on an output folder (`<folder>/.lock`, flock(2)), held while a job writes there, so two
/// jobs cannot interleave their saves in one folder. The kernel drops it when the process ends, so a killed
/// job leaves no stale lock.
public final class FolderLock {
    public let folder: URL
    private let descriptor: Int32

    public struct Busy: Error, CustomStringConvertible {
        public var folder: URL
        public var description: String {
            "\(folder.path) is in use by another running job (it holds \(folder.path)/.lock); wait for it or choose another --out"
        }
    }

    /// Creates the folder if needed and takes the lock, or throws `Busy` at once.
    public init(_ folder: URL) throws {
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(".lock").path
        let fd = open(path, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw Busy(folder: folder)
        }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
