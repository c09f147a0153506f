import ArgumentParser
import Foundation
import SwitchGymNN
import SwitchGymData
import SwitchGymIO

/// Exit statuses, from BSD's `sysexits.h`, so scripts can tell bad input from a
/// full disk.
enum ExitStatus {
    /// A command-line value or a config/spec file is wrong.
    static let usage: Int32 = 64
    /// An input file's content is malformed (bad CSV row, not our HDF5, truncated stream).
    static let dataError: Int32 = 65
    /// An input file does not exist or cannot be opened.
    static let noInput: Int32 = 66
    /// An output file cannot be created or written.
    static let cannotCreate: Int32 = 73
    /// Anything else.
    static let software: Int32 = 70
}

/// Runs a command body, printing any error as `error: ...` on standard error and
/// exiting with a status that says what kind of failure it was.
///
/// `inputs` are the files the command reads: a missing-file or system error about one of
/// them is "no input" (66); a system error about any other path is an output failure (73).
/// No file the body writes may be one of them (``OutputGuard``): such a write is refused
/// as a usage error (64) and the input is left as it was.
func reportingErrors<R>(inputs: [String] = [], _ body: () throws -> R) throws -> R {
    do {
        return try OutputGuard.protecting(inputs) { try body() }
    } catch let e as ExitCode {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        let (message, status) = describe(error, inputs: inputs)
        FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
        throw ExitCode(status)
    }
}

/// The message and exit status for an error.
func describe(_ error: any Error, inputs: [String]) -> (String, Int32) {
    switch error {
    case let e as SwitchGymIOError:
        let isInput = e.path.map { inputs.contains($0) } ?? false
        switch e.kind {
        case .notFound where isInput: return (e.description, ExitStatus.noInput)
        case .system where isInput: return (e.description, ExitStatus.noInput)
        case .system, .notFound: return (e.description, ExitStatus.cannotCreate)
        case .invalidArgument: return (e.description, ExitStatus.usage)
        default: return (e.description, ExitStatus.dataError)
        }
    case let e as CLIError:
        return (e.message, e.status)
    case let e as TraceError:
        return (e.message, ExitStatus.dataError)
    case let e as TraceAnalysisError:
        return (e.message, ExitStatus.usage)
    case let e as CustomStringConvertible:
        return (e.description, ExitStatus.dataError)
    default:
        return ("\(error)", ExitStatus.software)
    }
}

/// An error raised by the command line itself, with its exit status.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var status: Int32
    var description: String { message }
    static func usage(_ m: String) -> CLIError { CLIError(message: m, status: ExitStatus.usage) }
    static func data(_ m: String) -> CLIError { CLIError(message: m, status: ExitStatus.dataError) }
}

/// Writes a line to standard output.
func say(_ s: String) { print(s) }

/// Writes a progress or diagnostic line to standard error (keeps stdout machine-readable).
func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// The current time as ISO 8601 UTC with seconds.
func nowISO8601() -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: Date())
}

/// Monotonic seconds for timing.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// `1,10,60` → `[1, 10, 60]`, each positive and finite.
func parseWindows(_ text: String, option: String) throws -> [Double] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    var out: [Double] = []
    for p in parts {
        let s = p.trimmingCharacters(in: .whitespaces)
        guard let v = Double(s), v.isFinite, v > 0 else {
            throw ValidationError("\(option): expected comma-separated window widths in seconds, each > 0, found \"\(s)\"")
        }
        out.append(v)
    }
    return out
}

/// Human-readable byte count.
func formatBytes(_ n: Int) -> String {
    let d = Double(n)
    if n >= 1 << 30 { return String(format: "%.2f GiB", d / Double(1 << 30)) }
    if n >= 1 << 20 { return String(format: "%.2f MiB", d / Double(1 << 20)) }
    if n >= 1 << 10 { return String(format: "%.1f KiB", d / Double(1 << 10)) }
    return "\(n) B"
}

extension HDF5Compression: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

/// OpenBLAS picks its kernels when it loads, from OPENBLAS_CORETYPE or CPU detection; when
/// detection fell back to the old Prescott kernels on a newer CPU (OpenBLAS 0.3.21 on recent
/// Xeons), re-run this process with a better core type (the only way to change it), unless
/// OPENBLAS_CORETYPE is already set. Training results are reproducible for a given machine and
/// kernel choice; this makes the choice the same on every run.
func ensureFastBLASKernels(command: String, hint: String = "set OPENBLAS_CORETYPE to choose yourself") {
    guard getenv("OPENBLAS_CORETYPE") == nil, let core = BLAS.suggestedCoreType() else { return }
    FileHandle.standardError.write(Data("\(command): OpenBLAS chose Prescott kernels on this CPU; re-running with OPENBLAS_CORETYPE=\(core) (\(hint))\n".utf8))
    setenv("OPENBLAS_CORETYPE", core, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    FileHandle.standardError.write(Data("\(command): re-running failed (errno \(errno)); continuing with Prescott kernels\n".utf8))
}
