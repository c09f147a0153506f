import Foundation
import Testing

/// One argument of one command, from `switchgym --experimental-dump-help` (every command,
/// hidden ones included).
struct DumpedArgument {
    var command: String
    var kind: String
    var names: [String]
    var abstract: String
    var isOptional: Bool
    var isRepeating: Bool
    var shouldDisplay: Bool
    var valueName: String?

    /// Every argument of every command.
    static func all() throws -> [DumpedArgument] {
        let r = try run(["--experimental-dump-help"])
        guard r.status == 0 else { throw DumpError(message: "--experimental-dump-help exited \(r.status): \(r.stderr)") }
        let root = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        var out: [DumpedArgument] = []
        func walk(_ command: [String: Any], path: [String]) {
            for a in command["arguments"] as? [[String: Any]] ?? [] {
                let names = (a["names"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                if names == ["help"] || names == ["h", "help"] || names == ["version"] { continue }
                out.append(DumpedArgument(
                    command: path.joined(separator: " "), kind: a["kind"] as? String ?? "", names: names,
                    abstract: a["abstract"] as? String ?? "", isOptional: a["isOptional"] as? Bool ?? false,
                    isRepeating: a["isRepeating"] as? Bool ?? false, shouldDisplay: a["shouldDisplay"] as? Bool ?? true,
                    valueName: a["valueName"] as? String))
            }
            for s in command["subcommands"] as? [[String: Any]] ?? [] {
                walk(s, path: path + [s["commandName"] as? String ?? "?"])
            }
        }
        walk(root?["command"] as? [String: Any] ?? [:], path: [])
        return out
    }

    struct DumpError: Error, CustomStringConvertible { var message: String; var description: String { message } }
}

@Suite("every command spells the shared options the same way (--env, --trace, --seed, --out)", .serialized)
struct OptionConsistencyTests {
    /// The commands that run an env or a scenario.
    static let envCommands = ["train", "eval", "quickstart", "envs rollout", "envs simulate", "envs fidelity",
                              "envs interference", "bench envs", "bench fleet"]

    /// The only positional arguments: input files that are not an env, and `help`'s command.
    static let positionals: Set<String> = ["traces import file", "traces inspect dataset", "traces split dataset",
                                           "eval checkpoints", "export checkpoint", "act policy", "ship policy", "help subcommands"]

    @Test("the env is --env in every command that runs one, with one help text; nothing takes it positionally")
    func envIsNamed() throws {
        let args = try DumpedArgument.all()
        let env = args.filter { $0.names == ["env"] }
        #expect(Set(env.map(\.command)).isSuperset(of: Self.envCommands), "commands with --env: \(env.map(\.command))")
        #expect(Set(env.map(\.abstract)).count == 1, "--env help differs: \(env.map { "\($0.command): \($0.abstract)" })")
        #expect(env.allSatisfy { $0.kind == "option" })
        let positional = args.filter { $0.kind == "positional" }.map { "\($0.command) \($0.valueName ?? "")" }
        #expect(Set(positional) == Self.positionals, "positional arguments: \(positional)")
        // Any argument that mentions a scenario spec or an env id is --env itself.
        for a in args where a.abstract.contains("envs/*.toml") { #expect(a.names == ["env"], "\(a.command) \(a.names)") }
    }

    @Test("--trace and --seed read the same everywhere; a command with --trace has --env")
    func traceAndSeed() throws {
        let args = try DumpedArgument.all()
        let trace = args.filter { $0.names == ["trace"] }
        #expect(trace.count >= 6, "\(trace.map(\.command))")
        #expect(Set(trace.map(\.abstract)).count == 1, "--trace help differs: \(trace.map { "\($0.command): \($0.abstract)" })")
        let withEnv = Set(args.filter { $0.names == ["env"] }.map(\.command))
        for t in trace { #expect(withEnv.contains(t.command), "\(t.command) has --trace but no --env") }
        // Every single --seed is the shared one; quickstart's repeatable --seed (one run per seed) is its own.
        let seed = args.filter { $0.names == ["seed"] && !$0.isRepeating }
        #expect(Set(seed.map(\.command)).isSuperset(of: ["train", "envs rollout", "envs simulate", "traces import", "traces synth"]))
        #expect(Set(seed.map(\.abstract)).count == 1, "--seed help differs: \(seed.map { "\($0.command): \($0.abstract)" })")
    }

    @Test("the primary output is -o/--out everywhere; no command has --output")
    func outputIsOut() throws {
        let args = try DumpedArgument.all()
        #expect(!args.contains { $0.names.contains("output") }, "\(args.filter { $0.names.contains("output") }.map(\.command))")
        let out = args.filter { $0.names.contains("out") }
        #expect(Set(out.map(\.command)) == ["quickstart", "train", "traces import", "traces synth", "debug write-metrics", "export"],
                "commands with --out: \(out.map(\.command))")
        #expect(out.allSatisfy { $0.names == ["o", "out"] }, "\(out.map { "\($0.command): \($0.names)" })")
        // -o means nothing else.
        #expect(args.filter { $0.names.contains("o") }.allSatisfy { $0.names == ["o", "out"] })
    }

    @Test("a positional env is refused (usage error naming --env); --env is parsed and the command reads the spec",
          arguments: [["envs", "simulate"], ["envs", "rollout"], ["envs", "fidelity"], ["envs", "interference"],
                      ["eval"], ["train"]])
    func positionalRefused(_ command: [String]) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = dir + "/missing.toml"
        let extra = command == ["train"] ? ["--out", dir + "/run", "--quiet"] : []
        let positional = try run(command + [spec] + extra)
        #expect(positional.status == 64 && positional.stderr.contains("--env"), "\(command): \(positional.status) \(positional.stderr)")
        #expect(positional.stdout.isEmpty)
        let named = try run(command + ["--env", spec] + extra)
        #expect(named.status != 64 && named.status != 0 && named.stderr.contains("missing.toml"),
                "\(command): \(named.status) \(named.stderr)")
        #expect(!named.stderr.contains("Usage:"), "\(command): \(named.stderr)")
        #expect(files(dir).isEmpty, "\(command) left \(files(dir))")
    }

    @Test("the old spelling --output still works in traces import and synth, with a deprecation note")
    func oldOutputSpelling() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let synth = try run(["traces", "synth", "--duration", "5", "--seed", "1", "--created-at", "x", "--output", dir + "/a.h5"])
        #expect(synth.status == 0 && synth.stderr.contains("--output is deprecated; use --out"), "\(synth.stderr)")
        let long = try run(["traces", "synth", "--duration", "5", "--seed", "1", "--created-at", "x", "--output=" + dir + "/b.h5"])
        let short = try run(["traces", "synth", "--duration", "5", "--seed", "1", "--created-at", "x", "-o", dir + "/c.h5"])
        let new = try run(["traces", "synth", "--duration", "5", "--seed", "1", "--created-at", "x", "--out", dir + "/d.h5"])
        #expect(long.status == 0 && short.status == 0 && new.status == 0, "\(long.stderr) \(short.stderr) \(new.stderr)")
        #expect(short.stderr.isEmpty && new.stderr.isEmpty)
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.h5"))
        for f in ["b.h5", "c.h5", "d.h5"] { #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f)) == a, "\(f)") }
        try write("timestamp\n0.5\n1.0\n", dir + "/t.csv")
        let imp = try run(["traces", "import", dir + "/t.csv", "--output", dir + "/t.h5"])
        #expect(imp.status == 0 && imp.stderr.contains("--output is deprecated"), "\(imp.stderr)")
        // Only where --output used to be: elsewhere it is an unknown option.
        let train = try run(["train", "--env", "CartPole-v1", "--output", dir + "/run"])
        #expect(train.status == 64 && !FileManager.default.fileExists(atPath: dir + "/run"), "\(train.stderr)")
    }
}
