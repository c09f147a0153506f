// libFuzzer harness for TraceDataset.read (built by Scripts/fuzz.sh hdf5).
// The input is written to a per-process temp file that is then read as a trace.
// Any thrown error is an expected result.
#if canImport(Glibc)
import Glibc
#endif

private let fuzzPath: String = {
    let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    return "\(dir)/switchgym-fuzz-\(getpid()).h5"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let f = fopen(fuzzPath, "wb") else { fatalError("cannot write \(fuzzPath)") }
    if size > 0 { _ = fwrite(data, 1, size, f) }
    fclose(f)
    _ = try? TraceDataset.read(fuzzPath)
    return 0
}
