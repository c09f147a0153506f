import SwitchGymCore
import SwitchGymNN

/// The description a frozen policy file carries (docs/policy-format.md, "The policy
/// document"): what the network is, how to build its observation, what its action means, which
/// scenario it serves and where it came from. JSON with snake_case keys.
public struct PolicyDocument: Codable, Sendable, Equatable {
    /// `switchgym.policy`.
    public static let formatName = "switchgym.policy"
    /// The format version this library writes and reads.
    public static let currentFormatVersion = 1

    public var format: String
    public var formatVersion: Int
    public var policy: Policy
    public var observation: Observation
    public var action: Action
    /// The scenario a serving policy was exported for (nil for a registered env such as CartPole).
    public var scenario: Scenario?
    public var source: Source
    public var versions: Versions
    /// Golden cases in the file (tensors `golden.*`).
    public var goldenCount: Int

    /// The network and how it decodes an action.
    public struct Policy: Codable, Sendable, Equatable {
        /// `mlp`, `family` or `moves` (never `auto`).
        public var kind: PolicyArchitecture
        /// `ppo` or `dqn`.
        public var algorithm: String
        public var network: Network
        /// Added to the held variant's score (family).
        public var stayBias: Float
        /// Beams of a family policy's decoding (1: greedy).
        public var beamWidth: Int
        /// A moves policy's block-size levels.
        public var movesLevels: Int?
    }

    /// An MLP: `sizes[0]` inputs, `sizes.last` outputs; the hidden activation on every layer but the last.
    public struct Network: Codable, Sendable, Equatable {
        public var sizes: [Int]
        public var hiddenActivation: Activation
    }

    /// The observation the policy reads.
    public struct Observation: Codable, Sendable, Equatable {
        public var dimension: Int
        public var features: [ObservationFeature]
        /// A serving fleet's layout (nil for other envs).
        public var family: Family?
        /// The frozen normalisation (serving fleets): the bill features are divided by
        /// `bill_scale` (the training trace's mean queries per interval and stream) and the elapsed
        /// fraction is the step over `episode_intervals` (the training episode's length).
        public var normalization: ObservationNormalization?
        /// Each history window's length in decision intervals.
        public var historyWindowsIntervals: [Int]?
        public var decisionIntervalS: Double?
    }

    /// ``FamilyObservationLayout`` with its derived offsets spelled out for other runtimes.
    public struct Family: Codable, Sendable, Equatable {
        public var workers: Int
        public var jobs: Int
        public var streams: Int
        public var historyWindows: Int
        public var forecast: Bool
        public var workerClass: [Int]
        public var classNames: [String]
        public var jobNames: [String]
        public var sharedOffset: Int
        public var sharedCount: Int

        public init(_ l: FamilyObservationLayout) {
            workers = l.workers; jobs = l.jobs; streams = l.streams; historyWindows = l.historyWindows; forecast = l.forecast
            workerClass = l.workerClass; classNames = l.classNames; jobNames = l.jobNames
            sharedOffset = l.sharedOffset; sharedCount = l.sharedCount
        }

        /// The layout, or `nil` when the fields contradict each other.
        public var layout: FamilyObservationLayout? {
            guard workers >= 1, jobs >= 1, streams >= 0, historyWindows >= 0, !classNames.isEmpty, jobNames.count == jobs,
                  workerClass.count == workers, workerClass.allSatisfy({ (0..<classNames.count).contains($0) }) else { return nil }
            let l = FamilyObservationLayout(workers: workers, jobs: jobs, streams: streams, historyWindows: historyWindows,
                                            forecast: forecast, workerClass: workerClass, classNames: classNames, jobNames: jobNames)
            guard l.sharedOffset == sharedOffset, l.sharedCount == sharedCount else { return nil }
            return l
        }
    }

    /// What the action's integers mean.
    public struct Action: Codable, Sendable, Equatable {
        /// Values per component.
        public var components: [Int]
        /// Booleans per mask (the sum of ``components``).
        public var maskWidth: Int
        /// One name per component (a device, for a serving fleet).
        public var componentNames: [String]
        /// Per component, one name per value (the variants).
        public var valueNames: [[String]]
    }

    public struct Scenario: Codable, Sendable, Equatable {
        public var name: String
        /// ``ServingScenario/fingerprint``.
        public var fingerprint: String
    }

    public struct Source: Codable, Sendable, Equatable {
        /// The checkpoint's file name.
        public var checkpoint: String
        /// Lowercase hex SHA-256 of the checkpoint file.
        public var checkpointSha256: String
        /// Training steps of the checkpoint, when its name says.
        public var steps: Int?
    }

    public struct Versions: Codable, Sendable, Equatable {
        public var switchgym: String
        public var format: Int
    }
}
