import Foundation
import Testing
import SwitchGymIO
@testable import SwitchGymAgents

// MARK: - A minimal reader for the records and messages (independent of the writer)

struct DecodedEvent: Equatable {
    var wallTime: Double?
    var step: Int64?
    var fileVersion: String?
    var values: [(tag: String, value: Float)] = []
    var sessionStatus: UInt64?
    static func == (a: DecodedEvent, b: DecodedEvent) -> Bool {
        a.wallTime == b.wallTime && a.step == b.step && a.fileVersion == b.fileVersion
            && a.values.map(\.tag) == b.values.map(\.tag)
            && a.values.map(\.value.bitPattern) == b.values.map(\.value.bitPattern)
            && a.sessionStatus == b.sessionStatus
    }
}

enum DecodeError: Error { case bad(String) }

/// Fields of one protobuf message: (field number, wire type, varint/fixed value, bytes).
func protoFields(_ m: ArraySlice<UInt8>) throws -> [(Int, Int, UInt64, ArraySlice<UInt8>)] {
    var i = m.startIndex
    func varint() throws -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard i < m.endIndex else { throw DecodeError.bad("varint runs off the end") }
            let b = m[i]; i += 1
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }
    var out: [(Int, Int, UInt64, ArraySlice<UInt8>)] = []
    while i < m.endIndex {
        let key = try varint()
        let field = Int(key >> 3), wire = Int(key & 7)
        switch wire {
        case 0: out.append((field, wire, try varint(), []))
        case 1:
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(m[i + k]) << (8 * UInt64(k)) }
            i += 8; out.append((field, wire, v, []))
        case 5:
            var v: UInt64 = 0
            for k in 0..<4 { v |= UInt64(m[i + k]) << (8 * UInt64(k)) }
            i += 4; out.append((field, wire, v, []))
        case 2:
            let n = Int(try varint())
            out.append((field, wire, 0, m[i..<(i + n)])); i += n
        default: throw DecodeError.bad("wire type \(wire)")
        }
    }
    return out
}

func decodeEvent(_ bytes: ArraySlice<UInt8>) throws -> DecodedEvent {
    var e = DecodedEvent()
    for (f, w, v, b) in try protoFields(bytes) {
        switch (f, w) {
        case (1, 1): e.wallTime = Double(bitPattern: v)
        case (2, 0): e.step = Int64(bitPattern: v)
        case (3, 2): e.fileVersion = String(decoding: b, as: UTF8.self)
        case (5, 2):
            for (sf, sw, _, value) in try protoFields(b) where sf == 1 && sw == 2 {
                var tag = "", x: Float = .nan
                for (vf, vw, vv, vb) in try protoFields(value) {
                    if vf == 1 && vw == 2 { tag = String(decoding: vb, as: UTF8.self) }
                    if vf == 2 && vw == 5 { x = Float(bitPattern: UInt32(vv)) }
                }
                e.values.append((tag, x))
            }
        case (7, 2): e.sessionStatus = try protoFields(b).first { $0.0 == 1 }?.2
        default: throw DecodeError.bad("unexpected field \(f) wire \(w)")
        }
    }
    return e
}

/// Splits TFRecord framing, checking both masked CRCs of every record.
func readRecords(_ bytes: [UInt8]) throws -> [ArraySlice<UInt8>] {
    func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
    var out: [ArraySlice<UInt8>] = []
    var p = 0
    while p < bytes.count {
        guard bytes.count - p >= 12 else { throw DecodeError.bad("short header") }
        let len = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[p + $1]) << (8 * UInt64($1)) })
        guard u32(p + 8) == CRC32C.masked(CRC32C.checksum(Array(bytes[p..<(p + 8)]))) else {
            throw DecodeError.bad("length CRC")
        }
        let data = bytes[(p + 12)..<(p + 12 + len)]
        guard u32(p + 12 + len) == CRC32C.masked(CRC32C.checksum(Array(data))) else { throw DecodeError.bad("data CRC") }
        out.append(data)
        p += 16 + len
    }
    return out
}

func readEvents(_ url: URL) throws -> [DecodedEvent] {
    try readRecords(FileSystem.readAll(url.path)).map(decodeEvent)
}

/// A clock that advances by `tick` per call.
final class FakeClock: @unchecked Sendable {
    var now: Double
    let tick: Double
    init(_ start: Double, tick: Double) { now = start; self.tick = tick }
    func read() -> Double { defer { now += tick }; return now }
}

// MARK: - Tests

@Suite("CRC32C and TensorBoard records")
struct TensorBoardRecordTests {
    @Test("CRC32C test vectors (RFC 3720 B.4 and the check value)")
    func vectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    }

    @Test("slicing-by-8 equals the bytewise definition at every length and split")
    func slicingMatchesBytewise() {
        func reference(_ b: [UInt8]) -> UInt32 {
            var c: UInt32 = ~0
            for x in b {
                c ^= UInt32(x)
                for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            }
            return ~c
        }
        var g = SystemRandomNumberGenerator()
        for n in 0..<70 {
            let b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
            #expect(CRC32C.checksum(b) == reference(b))
            let cut = n / 3
            #expect(CRC32C.checksum(Array(b[cut...]), continuing: CRC32C.checksum(Array(b[..<cut]))) == reference(b))
        }
        let crc: UInt32 = 0xE306_9283
        #expect(CRC32C.masked(crc) == ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
    }

    @Test("event bytes: field numbers and wire types of event.proto / summary.proto")
    func eventBytes() throws {
        let first = TensorBoardEvents.fileVersionEvent(wallTime: 0, step: 0)
        #expect(first == [0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0x1A, 13] + Array("brain.Event:2".utf8))
        let scalar = TensorBoardEvents.scalarEvent(wallTime: 1.5, step: 300, tag: "charts/SPS", value: 2.5)
        let expected: [UInt8] = [0x09] + withUnsafeBytes(of: (1.5).bitPattern.littleEndian, Array.init)
            + [0x10, 0xAC, 0x02]  // step 300 as a varint
            + [0x2A, 19, 0x0A, 17, 0x0A, 10] + Array("charts/SPS".utf8)  // summary { value { tag
            + [0x15] + withUnsafeBytes(of: Float(2.5).bitPattern.littleEndian, Array.init)  // simple_value } }
        #expect(scalar == expected)
        let neg = try decodeEvent(TensorBoardEvents.scalarEvent(wallTime: 2, step: -1, tag: "t", value: -0.0)[...])
        #expect(neg.step == -1 && neg.values[0].value.bitPattern == (-0.0 as Float).bitPattern)
        let start = try decodeEvent(TensorBoardEvents.sessionStartEvent(wallTime: 3, step: 7)[...])
        #expect(start.sessionStatus == 1 && start.step == 7)
    }

    @Test("TFRecord framing: little-endian length, masked CRCs")
    func framing() throws {
        var out: [UInt8] = []
        TensorBoardEvents.appendRecord(Array("abc".utf8), to: &out)
        TensorBoardEvents.appendRecord([], to: &out)
        #expect(out.count == 16 + 3 + 16)
        #expect(Array(out[0..<8]) == [3, 0, 0, 0, 0, 0, 0, 0])
        #expect(try readRecords(out).map(Array.init) == [Array("abc".utf8), []])
        var corrupt = out
        corrupt[13] ^= 1
        #expect(throws: DecodeError.self) { try readRecords(corrupt) }
    }
}

@Suite("MetricsLogger")
struct MetricsLoggerTests {
    @Test("CSV rows and TensorBoard events carry the same tag, step, value and wall time")
    func csvAndEvents() throws {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        let clock = FakeClock(1_700_000_000.25, tick: 0.5)
        let m = try MetricsLogger(directory: dir.appendingPathComponent("run"), hostname: "host", clock: clock.read)
        #expect(m.eventFileURL.lastPathComponent == "events.out.tfevents.1700000000.host")
        m.log(tag: "charts/episodic_return", value: 12.5, step: 128)
        m.log(tag: "losses/policy_loss", value: -0.1, step: 128)
        m.log(tag: "odd,\"tag\"", value: .nan, step: 256)
        clock.now -= 10  // the clock steps back: wall times stay monotone
        m.log(tag: "charts/SPS", value: .infinity, step: 256)
        try m.close()

        let csv = try String(contentsOf: m.csvURL, encoding: .utf8)
        #expect(csv == #"""
            step,tag,value,wall_time
            128,charts/episodic_return,12.5,1700000000.75
            128,losses/policy_loss,-0.1,1700000001.25
            256,"odd,""tag""",nan,1700000001.75
            256,charts/SPS,inf,1700000001.75

            """#)
        let events = try readEvents(m.eventFileURL)
        #expect(events.count == 5)
        #expect(events[0].fileVersion == "brain.Event:2" && events[0].wallTime == 1_700_000_000.25)
        #expect(events[1] == DecodedEvent(wallTime: 1_700_000_000.75, step: 128, values: [("charts/episodic_return", 12.5)]))
        #expect(events[2].values[0].value == Float(-0.1))
        #expect(events[3].values[0].tag == "odd,\"tag\"" && events[3].values[0].value.isNaN)
        #expect(events[4].values[0].value == .infinity && events[4].wallTime == 1_700_000_001.75)
    }

    @Test("a second logger in the same second gets its own event file")
    func uniqueEventFiles() throws {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        let a = try MetricsLogger(directory: dir, hostname: "h", clock: { 5 })
        let b = try MetricsLogger(directory: dir, start: .resume(fromStep: 0), hostname: "h", clock: { 5 })
        #expect(a.eventFileURL.lastPathComponent == "events.out.tfevents.5.h")
        #expect(b.eventFileURL.lastPathComponent == "events.out.tfevents.5.h.1")
        try a.close(); try b.close()
        // A fresh run over older event files hides them in TensorBoard (START at step 0).
        let c = try MetricsLogger(directory: dir, hostname: "h", clock: { 6 })
        try c.close()
        let events = try readEvents(c.eventFileURL)
        #expect(events.count == 2 && events[1].sessionStatus == 1 && events[1].step == 0)
        #expect(try readEvents(a.eventFileURL).count == 1)
    }

    @Test("resuming drops rows after the resume step, so the CSV equals an uninterrupted run's")
    func resume() throws {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        func value(_ tag: Int, _ step: Int) -> Double { sin(Double(step) * 0.1 + Double(tag)) * 10 }
        func logSteps(_ m: MetricsLogger, _ steps: ClosedRange<Int>) {
            for s in steps { for t in 0..<3 { m.log(tag: "charts/t\(t)", value: value(t, s), step: s) } }
        }
        func withoutWallTime(_ url: URL) throws -> [String] {
            try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
                $0.split(separator: ",").prefix(3).joined(separator: ",")
            }
        }
        let whole = dir.appendingPathComponent("whole")
        let full = try MetricsLogger(directory: whole, hostname: "h", clock: FakeClock(100, tick: 1).read)
        logSteps(full, 0...20)
        try full.close()

        let cut = dir.appendingPathComponent("cut")
        let first = try MetricsLogger(directory: cut, hostname: "h", clock: FakeClock(100, tick: 1).read)
        logSteps(first, 0...14)
        try first.close()
        // A crash mid-row leaves a partial last line.
        let h = try FileHandle(forWritingTo: cut.appendingPathComponent("metrics.csv"))
        h.seekToEndOfFile(); h.write(Data("15,charts/t0,0.12".utf8)); h.closeFile()

        let resumed = try MetricsLogger(directory: cut, start: .resume(fromStep: 10), hostname: "h",
                                        clock: FakeClock(200, tick: 1).read)
        logSteps(resumed, 11...20)
        try resumed.close()
        #expect(try withoutWallTime(cut.appendingPathComponent("metrics.csv"))
                == withoutWallTime(whole.appendingPathComponent("metrics.csv")))

        let files = listNames(cut).filter { $0.hasPrefix("events.out.tfevents.") }
        #expect(files == ["events.out.tfevents.100.h", "events.out.tfevents.200.h"])
        let events = try readEvents(resumed.eventFileURL)
        #expect(events[0].fileVersion == "brain.Event:2")
        #expect(events[1].sessionStatus == 1 && events[1].step == 11)
        #expect(events.count == 2 + 10 * 3)

        // Resuming a folder without metrics.csv starts one; a foreign CSV is rejected.
        let empty = dir.appendingPathComponent("empty")
        try MetricsLogger(directory: empty, start: .resume(fromStep: 3), hostname: "h").close()
        #expect(try String(contentsOf: empty.appendingPathComponent("metrics.csv"), encoding: .utf8) == "step,tag,value,wall_time\n")
        try Data("a,b\n1,2\n".utf8).write(to: empty.appendingPathComponent("metrics.csv"))
        // With its sidecar the replaced file fails the checksum; without one (a run written
        // before checksums existed), the format checks below apply.
        #expect(throws: SwitchGymIOError.self) { try MetricsLogger(directory: empty, start: .resume(fromStep: 3)) }
        try FileManager.default.removeItem(at: empty.appendingPathComponent("metrics.csv.sha256"))
        #expect(throws: MetricsError.self) { try MetricsLogger(directory: empty, start: .resume(fromStep: 3)) }
        try Data("step,tag,value,wall_time\n1,a,2,3\nx,a,2,3\n".utf8).write(to: empty.appendingPathComponent("metrics.csv"))
        do {
            _ = try MetricsLogger(directory: empty, start: .resume(fromStep: 3))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasSuffix("metrics.csv:line 3: expected a row starting with an integer step"))
        }
    }

    @Test("metrics.csv.sha256 covers the file at each explicit flush and close; a changed row fails the resume, naming the file")
    func metricsChecksum() throws {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        let csv = dir.appendingPathComponent("metrics.csv").path
        func sidecarMatches() throws -> Bool {
            try String(contentsOfFile: csv + ".sha256", encoding: .utf8) == "\(SHA256.hex(of: try FileSystem.readAll(csv)))  metrics.csv\n"
        }
        let m = try MetricsLogger(directory: dir, hostname: "h", clock: FakeClock(100, tick: 1).read)
        #expect(try sidecarMatches())
        for s in 1...5 { m.log(tag: "charts/x", value: Double(s) / 3, step: s) }
        try m.flush()
        #expect(try sidecarMatches())
        for s in 6...9 { m.log(tag: "charts/x", value: Double(s) / 3, step: s) }
        try m.close()
        #expect(try sidecarMatches())
        let intact = try FileSystem.readAll(csv)
        // A digit changed in a row the checksum covers.
        var changed = intact
        let at = try #require(changed.lastIndex(of: UInt8(ascii: "3")))
        changed[at] = UInt8(ascii: "4")
        try AtomicOutput.write(bytes: changed, to: csv)
        do {
            _ = try MetricsLogger(directory: dir, start: .resume(fromStep: 5), hostname: "h")
            Issue.record("a changed metrics.csv was resumed from")
        } catch let e as SwitchGymIOError {
            #expect(e.kind == .checksum && e.description.contains(csv), "\(e)")
        }
        // Intact again: resumed, cut at step 5, and covered again.
        try AtomicOutput.write(bytes: intact, to: csv)
        try MetricsLogger(directory: dir, start: .resume(fromStep: 5), hostname: "h").close()
        #expect(try sidecarMatches())
        #expect(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").count == 6)
    }

    @Test("config.json is written atomically with sorted keys and reads back")
    func config() throws {
        struct Config: Codable, Equatable { var algo: String; var lr: Double; var env: String }
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        let c = Config(algo: "ppo", lr: 2.5e-4, env: "switchgym/EmploymentSearch-v0")
        let url = try RunConfigFile.write(c, to: dir)
        let text = try String(contentsOf: url, encoding: .utf8)
        // The checksum first, then the keys in order.
        #expect(text.hasPrefix("{\n  \"sha256\" : \""))
        #expect(text.contains("\",\n  \"algo\" : \"ppo\",\n  \"env\" : \"switchgym/EmploymentSearch-v0\""))
        #expect(try RunConfigFile.read(Config.self, from: dir) == c)
        try RunConfigFile.write(json: "{}", to: dir)
        let empty = try String(contentsOf: url, encoding: .utf8)
        #expect(empty == "{\n  \"sha256\" : \"\(SHA256.hex(of: Array("{}\n".utf8)))\"}\n")
        #expect(listNames(dir) == ["config.json"])
    }
}

@Suite("ProgressBar")
struct ProgressBarTests {
    /// A bar writing into a temporary file; returns what it wrote.
    func capture(tty: Bool, _ body: (ProgressBar, FakeClock) -> Void) throws -> String {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        let path = dir.appendingPathComponent("out").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let clock = FakeClock(1000, tick: 0)
        let bar = ProgressBar(total: 1000, fileDescriptor: fd, isTTY: tty, clock: clock.read)
        body(bar, clock)
        close(fd)
        return String(decoding: try FileSystem.readAll(path), as: UTF8.self)
    }

    @Test("the line shows step/total, percent, rate, return and ETA")
    func line() {
        let clock = FakeClock(0, tick: 0)
        let bar = ProgressBar(total: 100_000, fileDescriptor: -1, isTTY: false, clock: clock.read)
        #expect(bar.line == "0/100000  0.0%  - steps/s  return -  ETA -:--")
        clock.now = 10
        bar.update(step: 37_500, meanReturn: -153.204)
        #expect(bar.line == "37500/100000  37.5%  3750 steps/s  return -153.20  ETA 0:17")
        clock.now = 10.5
        bar.update(step: 37_501)
        // A moving average over ~5 s: 3750 + (1 - e^-0.1) * (2 - 3750).
        #expect(bar.line == "37501/100000  37.5%  3393 steps/s  return -153.20  ETA 0:18")
        let forced = ProgressBar(total: 8, fileDescriptor: -1, isTTY: true, width: 8, clock: { 0 })
        forced.recordEpisode(return: 1)
        forced.recordEpisode(return: 2)
        forced.update(step: 4)
        #expect(forced.line == "\r[####----]  4/8  50.0%  - steps/s  return 1.50  ETA -:--\u{1B}[K")
        clock.now = 4000
        bar.update(step: 50_000)
        #expect(bar.line.hasPrefix("50000/100000  50.0%  3.1 steps/s  return -153.20  ETA 4:2"), "\(bar.line)")
    }

    @Test("on a terminal: in-place redraws, at most ten a second, final newline")
    func ttyRateLimit() throws {
        let out = try capture(tty: true) { bar, clock in
            for step in 1...1000 {  // 1000 updates over 2 s
                clock.now += 0.002
                bar.update(step: step)
            }
            bar.finish()
            #expect(bar.draws <= 2 * 10 + 2, "\(bar.draws) draws")
            #expect(bar.draws >= 2 * 10 - 1, "\(bar.draws) draws")
        }
        #expect(out.hasPrefix("\r["))
        #expect(out.hasSuffix("\u{1B}[K\n"))
        #expect(out.filter { $0 == "\n" }.count == 1)
        #expect(out.contains("1000/1000  100.0%"))
    }

    @Test("not on a terminal: one line per 10%, and a final line")
    func logLines() throws {
        let out = try capture(tty: false) { bar, clock in
            for step in stride(from: 7, through: 995, by: 7) {
                clock.now += 0.01
                bar.update(step: step)
            }
            bar.finish()
        }
        let lines = out.split(separator: "\n")
        #expect(lines.count == 10, "\(out)")  // 10%, ..., 90%, then the final 994/1000
        #expect(lines.first?.hasPrefix("105/1000  10.5%") == true)
        #expect(lines.last?.hasPrefix("994/1000  99.4%") == true)
        #expect(!out.contains("\r"))
    }
}
