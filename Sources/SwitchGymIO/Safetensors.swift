import Foundation

/// The safetensors container (<https://github.com/huggingface/safetensors>): an 8-byte
/// little-endian header length `N`, `N` bytes of JSON header (each tensor's dtype, shape and
/// byte range in the data, plus string metadata under `__metadata__`), then the data.
///
/// ``decode(_:source:)`` checks everything a hostile file could get wrong before any tensor is
/// read: the header length against the file, the JSON, each dtype, that each shape's byte size
/// equals its range (with checked arithmetic), and that the ranges lie inside the data and do not
/// overlap. Tensors are little-endian, as the format requires.
public struct SafetensorsFile: Sendable, Equatable {
    /// Element types this reader knows.
    public enum DType: String, Codable, Sendable, CaseIterable {
        case F32, F64, I32, I64, U8, BOOL
        /// Bytes per element.
        public var size: Int {
            switch self {
            case .F32, .I32: 4
            case .F64, .I64: 8
            case .U8, .BOOL: 1
            }
        }
    }

    /// One tensor: its dtype, shape and raw little-endian bytes.
    public struct Tensor: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        public var bytes: [UInt8]

        public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// An F32 tensor.
        public init(_ values: [Float], shape: [Int]) {
            var b = [UInt8](); b.reserveCapacity(values.count * 4)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { b += $0 } }
            self.init(dtype: .F32, shape: shape, bytes: b)
        }

        /// An I32 tensor.
        public init(_ values: [Int32], shape: [Int]) {
            var b = [UInt8](); b.reserveCapacity(values.count * 4)
            for v in values { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
            self.init(dtype: .I32, shape: shape, bytes: b)
        }

        /// A U8 tensor.
        public init(_ values: [UInt8], shape: [Int]) { self.init(dtype: .U8, shape: shape, bytes: values) }

        /// Elements (the product of the shape).
        public var count: Int { shape.reduce(1, *) }

        /// The values of an F32 tensor.
        public var floats: [Float] {
            precondition(dtype == .F32, "Safetensors.Tensor.floats: dtype \(dtype)")
            return (0..<count).map { i in
                Float(bitPattern: UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24)
            }
        }

        /// The values of an I32 tensor.
        public var int32s: [Int32] {
            precondition(dtype == .I32, "Safetensors.Tensor.int32s: dtype \(dtype)")
            return (0..<count).map { i in
                Int32(bitPattern: UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24)
            }
        }
    }

    /// `__metadata__`: string to string.
    public var metadata: [String: String]
    /// Tensors by name.
    public var tensors: [String: Tensor]

    public init(metadata: [String: String] = [:], tensors: [String: Tensor] = [:]) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// Largest header this reader accepts (the format's own readers use 100 MB).
    public static let maxHeaderBytes = 100_000_000

    /// Why a file is not a valid safetensors container.
    public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
        public var message: String
        public var description: String { message }
    }

    /// One header entry: a tensor's description or the metadata table.
    enum HeaderEntry: Codable {
        case tensor(dtype: String, shape: [Int], dataOffsets: [Int])
        case metadata([String: String])

        enum CodingKeys: String, CodingKey { case dtype, shape, data_offsets }

        init(from decoder: any Decoder) throws {
            if let table = try? decoder.singleValueContainer().decode([String: String].self) {
                self = .metadata(table)
                return
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self = .tensor(dtype: try c.decode(String.self, forKey: .dtype), shape: try c.decode([Int].self, forKey: .shape),
                           dataOffsets: try c.decode([Int].self, forKey: .data_offsets))
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .metadata(let table):
                var c = encoder.singleValueContainer()
                try c.encode(table)
            case .tensor(let dtype, let shape, let offsets):
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(dtype, forKey: .dtype)
                try c.encode(shape, forKey: .shape)
                try c.encode(offsets, forKey: .data_offsets)
            }
        }
    }

    /// The file's bytes: tensors in name order, the header padded with spaces to a multiple of 8.
    public func encoded() throws -> [UInt8] {
        var header = [String: HeaderEntry]()
        if !metadata.isEmpty { header["__metadata__"] = .metadata(metadata) }
        var data = [UInt8]()
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            guard t.bytes.count == t.count * t.dtype.size else {
                throw FormatError(message: "tensor \(name): \(t.bytes.count) bytes for shape \(t.shape) of \(t.dtype.rawValue)")
            }
            header[name] = .tensor(dtype: t.dtype.rawValue, shape: t.shape, dataOffsets: [data.count, data.count + t.bytes.count])
            data += t.bytes
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var json = [UInt8](try encoder.encode(header))
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + data.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
        out += json
        out += data
        return out
    }

    /// The data section of `bytes` (everything after the header), for checksums over it.
    /// - Precondition: `bytes` decoded without error.
    public static func dataSection(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return bytes[(8 + n)...]
    }

    /// Parses and validates a container. `source` names it in errors.
    public static func decode(_ bytes: [UInt8], source: String) throws -> SafetensorsFile {
        func fail(_ m: String) -> FormatError { FormatError(message: "\(source): not a valid safetensors file: \(m)") }
        guard bytes.count >= 8 else { throw fail("\(bytes.count) bytes, shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(maxHeaderBytes) else { throw fail("header length \(n) exceeds \(maxHeaderBytes) bytes") }
        guard Int(n) <= bytes.count - 8 else { throw fail("header length \(n) runs past the end of the file (\(bytes.count) bytes): truncated?") }
        let headerEnd = 8 + Int(n)
        let header: [String: HeaderEntry]
        do {
            header = try JSONDecoder().decode([String: HeaderEntry].self, from: Data(bytes[8..<headerEnd]))
        } catch {
            throw fail("the header is not the expected JSON (\(error))")
        }
        let dataCount = bytes.count - headerEnd
        var out = SafetensorsFile()
        var ranges = [(Int, Int, String)]()
        for (name, entry) in header {
            switch entry {
            case .metadata(let table):
                guard name == "__metadata__" else { throw fail("entry '\(name)' is a string table; only __metadata__ may be") }
                out.metadata = table
            case .tensor(let dtypeName, let shape, let offsets):
                guard name != "__metadata__" else { throw fail("__metadata__ must be a table of strings") }
                guard let dtype = DType(rawValue: dtypeName) else {
                    throw fail("tensor \(name): dtype \(dtypeName) is not one of \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataCount else {
                    throw fail("tensor \(name): data_offsets \(offsets) outside the data section (\(dataCount) bytes)")
                }
                var elements = 1
                for d in shape {
                    guard d >= 0 else { throw fail("tensor \(name): negative dimension in shape \(shape)") }
                    let (m, overflow) = elements.multipliedReportingOverflow(by: d)
                    guard !overflow, m <= dataCount else { throw fail("tensor \(name): shape \(shape) larger than the file") }
                    elements = m
                }
                guard elements * dtype.size == offsets[1] - offsets[0] else {
                    throw fail("tensor \(name): shape \(shape) of \(dtypeName) needs \(elements * dtype.size) bytes, its range has \(offsets[1] - offsets[0])")
                }
                ranges.append((offsets[0], offsets[1], name))
                out.tensors[name] = Tensor(dtype: dtype, shape: shape,
                                           bytes: Array(bytes[(headerEnd + offsets[0])..<(headerEnd + offsets[1])]))
            }
        }
        ranges.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        for i in ranges.indices.dropFirst() where ranges[i].0 < ranges[i - 1].1 {
            throw fail("tensors \(ranges[i - 1].2) and \(ranges[i].2) overlap")
        }
        return out
    }
}
