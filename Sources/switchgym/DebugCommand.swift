import ArgumentParser
import Foundation
import SwitchGymAgents

/// `switchgym debug ...`: hidden helpers for checks with external readers (not API).
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug",
        abstract: "Helpers for checks with external readers (not a stable interface).",
        shouldDisplay: false,
        subcommands: [WriteMetrics.self])

    /// `switchgym debug write-metrics --out DIR --steps N [--every K] [--resume-from S]`
    struct WriteMetrics: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "write-metrics",
            abstract: "Log deterministic synthetic scalars to DIR with MetricsLogger (metrics.csv, event file, config.json).",
            discussion: """
                Steps 0, K, 2K, ... up to N are logged under CleanRL-style tags (charts/..., losses/...); each \
                value is a function of the tag and the step only, so a run resumed with --resume-from S \
                (which keeps the CSV rows with step <= S and logs the steps after S) produces the same \
                scalars as an uninterrupted one; --stop-at simulates the crash. A progress bar goes to standard error.
                """)

        @OptionGroup var output: OutputOptions<RunFolderOutput>

        @Option(help: "The last step.")
        var steps: Int

        @Option(help: "Log every K steps.")
        var every: Int = 8

        @Option(help: "Resume the run in --out from this step.")
        var resumeFrom: Int?

        @Option(help: "Stop after this step as if the run crashed there (the values still use --steps).")
        var stopAt: Int?

        func validate() throws {
            if steps < 0 { throw ValidationError("--steps must be non-negative, got \(steps).") }
            if every < 1 { throw ValidationError("--every must be at least 1, got \(every).") }
            if let resumeFrom, resumeFrom < 0 { throw ValidationError("--resume-from must be non-negative.") }
        }

        /// The synthetic value of a tag at a step.
        static func scalars(step: Int, total: Int) -> [(String, Double)] {
            let s = Double(step)
            return [
                ("charts/episodic_return", 100 * sin(s / 50) + s * 0.01),
                ("charts/episodic_length", Double(step % 500 + 1)),
                ("charts/SPS", Double(1000 + step % 7)),
                ("charts/learning_rate", 2.5e-4 * (1 - s / Double(max(total, 1)))),
                ("losses/policy_loss", -0.01 * cos(s / 30)),
                ("losses/value_loss", 1 / (1 + s)),
                ("losses/entropy", log(9) * exp(-s / 10_000)),
                ("losses/approx_kl", step % 97 == 0 ? 0 : 1e-7 * s),
            ]
        }

        func run() throws {
            try reportingErrors {
                let dir = URL(fileURLWithPath: output.out)
                let start: MetricsLogger.Start = resumeFrom.map { .resume(fromStep: $0) } ?? .fresh
                let logger = try MetricsLogger(directory: dir, start: start)
                let config = ["command": "debug write-metrics", "steps": String(steps), "every": String(every)]
                try RunConfigFile.write(config, to: dir)
                let first = resumeFrom.map { ($0 / every + 1) * every } ?? 0
                let bar = ProgressBar(total: steps, startStep: resumeFrom ?? 0)
                var returns = 0.0
                for step in stride(from: first, through: min(steps, stopAt ?? steps), by: every) {
                    for (tag, value) in Self.scalars(step: step, total: steps) {
                        logger.log(tag: tag, value: value, step: step)
                        if tag == "charts/episodic_return" { returns = value }
                    }
                    bar.update(step: step, meanReturn: returns)
                }
                bar.finish()
                if stopAt != nil {
                    try logger.flush()  // a crash: no fsync, no close
                } else {
                    try logger.close()
                }
                say(logger.eventFileURL.path)
            }
        }
    }
}
