// libFuzzer harness for TraceImporter.importBytes (built by Scripts/fuzz.sh import).
// The first input byte picks the format option (nil = detect, or one explicit format);
// the whole input is the file content. Any thrown error is an expected result.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let formats: [TraceFormat?] = [nil] + TraceFormat.allCases
    let format = size > 0 ? formats[Int(bytes[0]) % formats.count] : nil
    let units: [TimeUnit] = [.seconds, .milliseconds, .microseconds]
    let unit = size > 1 ? units[Int(bytes[1]) % units.count] : .seconds
    let sort = size > 2 ? bytes[2] & 1 == 1 : false
    let options = TraceImportOptions(format: format, seed: 1, timeUnit: unit, sort: sort,
                                     createdAt: "", maxRequests: 1 << 20)
    _ = try? TraceImporter.importBytes(bytes, name: "fuzz.csv", options: options)
    return 0
}
