import ArgumentParser
import SwitchGymAgents

/// The `switchgym` command line: one subcommand group per concern; each group
/// lives in its own `*Command.swift` file.
@main
struct SwitchGymCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchgym",
        abstract: "Train, evaluate and export proactive model-switching policies for ML inference serving.",
        version: SwitchGymVersion.string,
        subcommands: CommandRegistry.all)

    /// Parses the arguments, old option spellings rewritten (``DeprecatedSpellings``), and runs
    /// the command.
    static func main() async {
        await main(DeprecatedSpellings.rewrite(Array(CommandLine.arguments.dropFirst())))
    }
}
