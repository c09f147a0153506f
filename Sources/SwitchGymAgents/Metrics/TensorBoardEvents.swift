/// TensorBoard event records, encoded by hand (no protobuf library).
///
/// The messages (tensorboard/compat/proto/event.proto and summary.proto):
///
///     message Event   { double wall_time = 1; int64 step = 2;
///                       oneof what { string file_version = 3; Summary summary = 5;
///                                    SessionLog session_log = 7; ... } }
///     message Summary { repeated Value value = 1; }
///     message Summary.Value { string tag = 1; oneof value { float simple_value = 2; ... } }
///     message SessionLog { SessionStatus status = 1; ... }   // START = 1
///
/// Each event is framed as a TFRecord: `uint64 length` (little-endian), `uint32
/// masked CRC-32C of those 8 bytes`, the bytes, `uint32 masked CRC-32C of the bytes`.
public enum TensorBoardEvents {
    /// The `file_version` of the first event in every file.
    public static let fileVersion = "brain.Event:2"

    /// The first event of a file: wall time, step and `file_version`.
    public static func fileVersionEvent(wallTime: Double, step: Int64 = 0) -> [UInt8] {
        var e = header(wallTime: wallTime, step: step)
        appendBytesField(3, Array(fileVersion.utf8), to: &e)
        return e
    }

    /// A scalar: an event whose summary holds one value with `tag` and `simple_value`.
    public static func scalarEvent(wallTime: Double, step: Int64, tag: String, value: Float) -> [UInt8] {
        var v: [UInt8] = []
        v.reserveCapacity(tag.utf8.count + 10)
        appendBytesField(1, Array(tag.utf8), to: &v)
        appendKey(2, wireType: 5, to: &v)
        appendFixed32(value.bitPattern, to: &v)
        var summary: [UInt8] = []
        appendBytesField(1, v, to: &summary)
        var e = header(wallTime: wallTime, step: step)
        appendBytesField(5, summary, to: &e)
        return e
    }

    /// `SessionLog { status: START }` at `step`: TensorBoard's event accumulator drops the
    /// events with `step >=` this step that it read before it (a run restarted from a
    /// checkpoint), so a resumed run shows one continuous curve.
    public static func sessionStartEvent(wallTime: Double, step: Int64) -> [UInt8] {
        var e = header(wallTime: wallTime, step: step)
        appendBytesField(7, [0x08, 0x01], to: &e)  // status (field 1, varint) = START (1)
        return e
    }

    /// Appends `data` framed as one TFRecord.
    public static func appendRecord(_ data: [UInt8], to out: inout [UInt8]) {
        var len = UInt64(data.count).littleEndian
        let lenBytes = withUnsafeBytes(of: &len) { Array($0) }
        out.append(contentsOf: lenBytes)
        appendFixed32(CRC32C.masked(CRC32C.checksum(lenBytes)), to: &out)
        out.append(contentsOf: data)
        appendFixed32(CRC32C.masked(CRC32C.checksum(data)), to: &out)
    }

    // MARK: - Protobuf wire format

    private static func header(wallTime: Double, step: Int64) -> [UInt8] {
        var e: [UInt8] = []
        e.reserveCapacity(64)
        appendKey(1, wireType: 1, to: &e)  // double: 64-bit
        appendFixed64(wallTime.bitPattern, to: &e)
        appendKey(2, wireType: 0, to: &e)  // int64: varint (negative values take 10 bytes)
        appendVarint(UInt64(bitPattern: step), to: &e)
        return e
    }

    static func appendKey(_ field: UInt64, wireType: UInt64, to out: inout [UInt8]) {
        appendVarint(field << 3 | wireType, to: &out)
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func appendBytesField(_ field: UInt64, _ bytes: [UInt8], to out: inout [UInt8]) {
        appendKey(field, wireType: 2, to: &out)
        appendVarint(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    static func appendFixed32(_ v: UInt32, to out: inout [UInt8]) {
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    static func appendFixed64(_ v: UInt64, to out: inout [UInt8]) {
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
}
