import ArgumentParser

/// `switchgym bench ...`: the speed and memory targets, measured on this machine.
///
/// Each benchmark reports ratios against a reference measured in the same run where
/// one exists, because the machines are shared and absolute figures drift.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed targets (build with -c release for meaningful figures).",
        subcommands: [BenchEnvsCommand.self, BenchTraces.self, BenchAgentsCommand.self, BenchFleetCommand.self, BenchServeCommand.self])
}
