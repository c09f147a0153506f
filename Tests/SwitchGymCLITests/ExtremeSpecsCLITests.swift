import Foundation
import Testing
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A child process's exit: its status or the signal that ended it, its output and its peak
/// resident memory (`VmHWM` of /proc/PID/status, polled until it exits).
struct MeasuredExit {
    var status: Int32?
    var signal: Int32?
    var stderr: String
    var peakRSSBytes: Int
}

/// Runs the binary with `args` through `posix_spawn` and `wait4`, for the child's own peak
/// RSS; stdin comes from `stdin` (a file or a FIFO) or is inherited, stdout goes to
/// /dev/null, stderr to a file in `scratch` read back afterwards.
func runMeasured(_ args: [String], scratch: String, stdin: String? = nil) throws -> MeasuredExit {
    let errPath = scratch + "/.stderr-\(UUID().uuidString.prefix(8))"
    defer { unlink(errPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let stdin { posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv = ([binary()] + args).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, binary(), &actions, nil, argv, environ)
    guard rc == 0 else { throw CocoaError(.fileReadUnknown, userInfo: ["posix_spawn": rc]) }
    // Not wait4's ru_maxrss: posix_spawn's child shares this process's memory until it execs,
    // and ru_maxrss keeps that high-water mark too (the test runner's own RSS). VmHWM is the
    // high-water mark of the child's own memory since its exec; it is read until the child
    // ends (a zombie has none), so at most the last 2 ms of growth are missed.
    var status: Int32 = 0
    var usage = rusage()
    var hwm = 0
    while true {
        hwm = max(hwm, vmHWMBytes(pid))
        let r = wait4(pid, &status, WNOHANG, &usage)
        if r == pid || (r < 0 && errno != EINTR) { break }
        usleep(2000)
    }
    let exited = status & 0x7f == 0
    let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return MeasuredExit(status: exited ? (status >> 8) & 0xff : nil, signal: exited ? nil : status & 0x7f,
                        stderr: err, peakRSSBytes: hwm > 0 ? hwm : usage.ru_maxrss * 1024)
}

/// The `VmHWM` of a live process in bytes (0 when /proc does not say).
func vmHWMBytes(_ pid: pid_t) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
    else { return 0 }
    return kb * 1024
}

/// Issue 13: random valid-but-extreme specs (counts, intervals, deadlines, rates, penalties
/// at and between the accepted bounds of ``ScenarioBounds``) through `switchgym envs simulate`
/// as a child process: no signal, status 0 or 65 with a message naming the spec and a key,
/// and a peak RSS under the budget.
@Suite("envs simulate on extreme specs: runs or a clear error, no trap, bounded memory", .serialized)
struct ExtremeSpecsCLITests {
    /// The memory budget of one `envs simulate` run on any accepted spec.
    static let rssBudget = 2 << 30

    /// What `envs simulate` did with a batch of extreme specs.
    struct Tally {
        var ran = 0, refused = 0, peak = 0
        /// The standard errors of the refused runs.
        var refusals: [String] = []
    }

    /// Runs `envs simulate --policy hold` (plus `extra`) on the specs of `seeds` that `keep`
    /// accepts, each as a child process, checking every run: no signal, status 0 or 65 with a
    /// message naming the spec and a key, peak RSS under ``rssBudget``.
    func simulate(seeds: Range<UInt64>, extra: [String] = [], keep: (String) -> Bool = { _ in true }) throws -> Tally {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        var t = Tally()
        for seed in seeds {
            let text = ExtremeSpecs.randomSpec(seed: seed, use: .simulate)
            guard keep(text) else { continue }
            try write(text, dir + "/s.toml")
            let r = try runMeasured(["envs", "simulate", "--env", dir + "/s.toml", "--policy", "hold", "--seed", "1"] + extra, scratch: dir)
            t.peak = max(t.peak, r.peakRSSBytes)
            #expect(r.signal == nil, "seed \(seed): killed by signal \(r.signal ?? 0)\n\(r.stderr)\n\(text)")
            #expect(r.status == 0 || r.status == 65, "seed \(seed): status \(String(describing: r.status))\n\(r.stderr)\n\(text)")
            if r.status == 65 {
                #expect(r.stderr.contains("s.toml") && r.stderr.contains("key '"), "seed \(seed): \(r.stderr)")
                t.refused += 1
                t.refusals.append(r.stderr)
            } else if r.status == 0 {
                t.ran += 1
            }
            #expect(r.peakRSSBytes < Self.rssBudget, "seed \(seed): peak RSS \(r.peakRSSBytes >> 20) MiB\n\(text)")
        }
        return t
    }

    @Test("24 seeded extreme specs through envs simulate --policy hold")
    func extremeSpecs() throws {
        let t = try simulate(seeds: 0..<24)
        print("extreme specs through envs simulate: \(t.ran) ran, \(t.refused) refused (65); peak RSS \(t.peak >> 20) MiB (budget \(Self.rssBudget >> 20) MiB)")
        #expect(t.ran > 0 && t.refused > 0)
    }

    /// The token-level specs of the generator through the discrete-event fidelity, which keeps
    /// every request (continuous batching, KV blocks, preemption): a spec whose requests would
    /// not fit ``ScenarioBounds/maxDiscreteEventRequests`` is refused before any is generated
    /// (seed 54 took 13 GB in 60 s before that check).
    @Test("the token-level ones among 200 seeded extreme specs through envs simulate --fidelity des")
    func extremeTokenLevelSpecsOnTheDES() throws {
        let t = try simulate(seeds: 0..<200, extra: ["--fidelity", "des", "--drain-intervals", "1"]) { $0.contains("[variants.llm]") }
        let requests = t.refusals.filter { $0.contains("discrete-event fidelity") }.count
        print("token-level extreme specs through the DES: \(t.ran) ran, \(t.refused) refused (65; \(requests) for their request volume); peak RSS \(t.peak >> 20) MiB (budget \(Self.rssBudget >> 20) MiB)")
        #expect(t.ran > 0 && requests > 0)
    }
}
