import ArgumentParser

/// Every top-level subcommand group, in the order `--help` lists them.
enum CommandRegistry {
    static let all: [any ParsableCommand.Type] = [
        QuickstartCommand.self,
        TracesCommand.self,
        EnvsCommand.self,
        TrainCommand.self,
        EvalCommand.self,
        ExportCommand.self,
        ActCommand.self,
        ServeCommand.self,
        ShipCommand.self,
        BenchCommand.self,
        DebugCommand.self,
    ]
}
