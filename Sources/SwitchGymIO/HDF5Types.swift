import CHDF5

/// A fixed-size numeric type that SwitchGym stores in HDF5 datasets and attributes.
///
/// Conformances exist for `Int8`, `UInt8`, `Int32`, `UInt32`, `Int64`, `UInt64`,
/// `Float` and `Double`; the set is closed.
public protocol HDF5Scalar: Numeric, Sendable {
    /// Not API: the HDF5 native type id.
    static var _hdf5NativeType: Int64 { get }
}
extension Int8: HDF5Scalar { public static var _hdf5NativeType: Int64 { CHDF5_T_NATIVE_INT8() } }
extension UInt8: HDF5Scalar { public static var _hdf5NativeType: Int64 { CHDF5_T_NATIVE_UINT8() } }
extension Int32: HDF5Scalar { public static var _hdf5NativeType: Int64 { CHDF5_T_NATIVE_INT32() } }
extension UInt32: HDF5Scalar { public static var _hdf5NativeType: Int64 { CHDF5_T_NATIVE_UINT32() } }
extension Int64: HDF5Scalar { public static var _hdf5NativeType: Int64 { CHDF5_T_NATIVE_INT64() } }
extension UInt64: HDF5Scalar { public static var _hdf5NativeType: Int64 { CHDF5_T_NATIVE_UINT64() } }
extension Float: HDF5Scalar { public static var _hdf5NativeType: Int64 { CHDF5_T_NATIVE_FLOAT() } }
extension Double: HDF5Scalar { public static var _hdf5NativeType: Int64 { CHDF5_T_NATIVE_DOUBLE() } }

/// How a chunked dataset is compressed.
public enum HDF5Compression: Sendable, Equatable {
    /// No filter.
    case none
    /// The zstd filter (HDF5 filter id 32015) at the given level (1-22). h5py reads
    /// it after `import hdf5plugin`.
    case zstd(level: Int32)
    /// HDF5's built-in deflate (gzip) filter at the given level (0-9); readable by
    /// any HDF5 build with zlib.
    case deflate(level: Int32)

    /// zstd at the default level.
    public static let standard = HDF5Compression.zstd(level: 3)

    /// Parses `none`, `zstd`, `zstd:LEVEL`, `deflate`, `deflate:LEVEL`.
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        let level = parts.count == 2 ? Int32(parts[1]) : nil
        if parts.count == 2 && level == nil { return nil }
        switch parts.first {
        case "none": if parts.count == 2 { return nil }; self = .none
        case "zstd": let l = level ?? 3; guard (1...22).contains(l) else { return nil }; self = .zstd(level: l)
        case "deflate", "gzip": let l = level ?? 6; guard (0...9).contains(l) else { return nil }; self = .deflate(level: l)
        default: return nil
        }
    }
}
