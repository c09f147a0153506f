import Foundation
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO
import SwitchGymNN

/// This library's version, as the CLI and exported policies report it.
public enum SwitchGymVersion {
    public static let string = "0.1.0"
}

/// A **frozen policy file** (docs/policy-format.md): a trained policy with everything a serving
/// core needs and nothing from the checkpoint or the simulator: the network's weights, the
/// ``PolicyDocument`` (observation features and frozen normalisation, action layout, scenario
/// fingerprint, versions, source checkpoint) and golden input/output cases for a self-test.
///
/// Made from a checkpoint's ``FrozenPolicy`` with ``make(policy:env:context:beamWidth:goldenCases:seed:)``,
/// written as safetensors with ``safetensors()`` / ``write(to:)`` and read back with
/// ``read(path:)``, which verifies the checksum, the shapes and the self-test. ``bind()`` is this
/// library's runtime on the file: the same decoding code `eval` uses, driven by the file alone.
public struct PolicyFile {
    public var document: PolicyDocument
    /// The actor (PPO) or Q-network (DQN).
    public let network: MLP
    /// Golden cases: `count × dimension` observations, `count × maskWidth` masks (0/1),
    /// `count × components` actions.
    public var golden: Golden

    public struct Golden: Sendable, Equatable {
        public var observations: [Float]
        public var masks: [UInt8]
        public var actions: [Int32]
        public var count: Int
    }

    /// Why a policy file could not be made, read or used.
    public struct FileError: Error, CustomStringConvertible, Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// No such file.
            case notFound
            /// Not a valid policy file: truncated, corrupted, wrong checksum, inconsistent.
            case corrupt
            /// A valid file that cannot do what was asked (another scenario, a wrong input size).
            case incompatible
        }
        public var kind: Kind
        public var message: String
        public var description: String { message }
    }

    /// Where the policy is exported from: the scenario and checkpoint facts the file records.
    public struct Context: Sendable {
        /// The scenario (nil for a registered env).
        public var scenario: ServingScenario?
        /// The normalisation of the env the scenario was resolved with, for a checkpoint that
        /// does not record its own (``FrozenPolicy/normalization`` wins).
        public var normalization: ObservationNormalization?
        /// The checkpoint file.
        public var checkpointPath: String

        public init(scenario: ServingScenario?, normalization: ObservationNormalization?, checkpointPath: String) {
            self.scenario = scenario
            self.normalization = normalization
            self.checkpointPath = checkpointPath
        }
    }

    /// Golden cases kept per exported file unless asked otherwise.
    public static let defaultGoldenCases = 32
    /// A golden case is kept only if its decision is at least this far from changing
    /// (``PolicyWorkspace/lastMargin``), so every runtime reproduces it despite float rounding.
    public static let goldenMargin: Float = 1e-4

    /// Freezes `policy` for the env of `observationDimension`, `actionLayout` and
    /// `familyLayout` (the env it was trained on, any fleet size of the same classes for
    /// family and moves policies).
    /// - Throws: ``FileError`` when the policy does not fit the env, or when no golden case with a
    ///   clear margin can be found.
    public static func make(policy: FrozenPolicy, observationDimension: Int, actionLayout: ActionLayout,
                            familyLayout: FamilyObservationLayout?, context: Context,
                            beamWidth: Int = FrozenPolicy.defaultBeamWidth, goldenCases: Int = defaultGoldenCases,
                            seed: UInt64 = 0) throws -> PolicyFile {
        guard (1...64).contains(beamWidth) else {
            throw FileError(kind: .incompatible, message: "beam width \(beamWidth): expected 1...64")
        }
        guard (1...10_000).contains(goldenCases) else {
            throw FileError(kind: .incompatible, message: "golden cases \(goldenCases): expected 1...10000")
        }
        let bound: BoundPolicy
        do {
            bound = try policy.bind(observationDimension: observationDimension, actionLayout: actionLayout,
                                    familyLayout: familyLayout, beamWidth: beamWidth)
        } catch let e as FrozenPolicy.LoadError {
            throw FileError(kind: .incompatible, message: e.message)
        }
        let checkpointBytes: [UInt8]
        do {
            checkpointBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: context.checkpointPath)))
        } catch {
            throw FileError(kind: .notFound, message: "\(context.checkpointPath): cannot read the checkpoint (\(error.localizedDescription))")
        }
        let name = URL(fileURLWithPath: context.checkpointPath).lastPathComponent
        let steps = name.hasPrefix("ckpt-") ? Int(name.dropFirst(5).prefix { $0.isNumber }) : nil
        let sc = context.scenario
        let features = familyLayout.map {
            $0.features(streamNames: sc?.streams.map(\.name), windowIntervals: sc?.historyWindows)
        } ?? [ObservationFeature(name: "observation", offset: 0, count: observationDimension, units: "env units",
                                 description: "the env's observation vector, as its observation space describes")]
        let componentNames: [String], valueNames: [[String]]
        if let fl = familyLayout {
            let names = sc.map { $0.fleet.map(\.name) } ?? []
            let unique = names.count == fl.workers && Set(names).count == names.count
            componentNames = (0..<fl.workers).map { w in unique ? names[w] : w < names.count ? "\(names[w])#\(w)" : "device\(w)" }
            valueNames = [[String]](repeating: fl.jobNames, count: fl.workers)
        } else {
            componentNames = (0..<actionLayout.components).map { "action[\($0)]" }
            valueNames = actionLayout.sizes.map { n in (0..<n).map(String.init) }
        }
        let document = PolicyDocument(
            format: PolicyDocument.formatName, formatVersion: PolicyDocument.currentFormatVersion,
            policy: .init(kind: policy.architecture == .auto ? .mlp : policy.architecture, algorithm: policy.algorithm,
                          network: .init(sizes: policy.network.sizes,
                                         hiddenActivation: policy.network.layers.count > 1 ? policy.network.layers[0].activation : .tanh),
                          stayBias: policy.stayBias, beamWidth: policy.architecture == .family ? beamWidth : 1,
                          movesLevels: policy.movesLevels),
            observation: .init(dimension: observationDimension, features: features, family: familyLayout.map(PolicyDocument.Family.init),
                               normalization: familyLayout == nil ? nil : policy.normalization ?? context.normalization,
                               historyWindowsIntervals: sc?.historyWindows,
                               decisionIntervalS: sc?.decisionInterval),
            action: .init(components: actionLayout.sizes, maskWidth: actionLayout.maskWidth, componentNames: componentNames,
                          valueNames: valueNames),
            scenario: sc.map { .init(name: $0.name, fingerprint: $0.fingerprint) },
            source: .init(checkpoint: name, checkpointSha256: SHA256.hex(of: checkpointBytes), steps: steps),
            versions: .init(switchgym: SwitchGymVersion.string, format: PolicyDocument.currentFormatVersion),
            goldenCount: goldenCases)
        let golden = try Self.goldenCases(bound, observationDimension: observationDimension, actionLayout: actionLayout,
                                          familyLayout: familyLayout, count: goldenCases, seed: seed)
        return PolicyFile(document: document, network: policy.network, golden: golden)
    }

    /// `count` random valid observations and masks whose decisions have a clear margin, with
    /// `bound`'s actions.
    static func goldenCases(_ bound: BoundPolicy, observationDimension dim: Int, actionLayout: ActionLayout,
                            familyLayout: FamilyObservationLayout?, count: Int, seed: UInt64) throws -> Golden {
        var g = SeededGenerator(seed: seed)
        var out = Golden(observations: [], masks: [], actions: [], count: count)
        bound.workspace.measuresMargin = true
        defer { bound.workspace.measuresMargin = false }
        var tries = 0
        while out.actions.count < count * actionLayout.components {
            tries += 1
            guard tries <= 200 * count else {
                throw FileError(kind: .incompatible, message: "the policy's decisions are within \(goldenMargin) of a tie on almost every random observation (an untrained policy?); no golden case would be reproduced by every runtime. Export a trained checkpoint, or a family policy with --beam-width 1")
            }
            let (obs, mask) = randomCase(observationDimension: dim, actionLayout: actionLayout, familyLayout: familyLayout, using: &g)
            let action = bound.act(observation: obs, mask: mask)
            guard bound.lastMargin >= goldenMargin else { continue }
            out.observations += obs
            out.masks += mask.map { $0 ? 1 : 0 }
            out.actions += action.map(Int32.init)
        }
        return out
    }

    /// One random valid observation and mask: for a fleet, a one-hot variant per device, some
    /// pending loads, bills in [0, 3) and an elapsed fraction; each device may keep its variant
    /// and each other variant with probability 0.7. For other envs, floats in [-2, 2) and each
    /// component allowing at least one value.
    public static func randomCase(observationDimension dim: Int, actionLayout: ActionLayout, familyLayout: FamilyObservationLayout?,
                                  using g: inout SeededGenerator) -> ([Float], [Bool]) {
        var obs = [Float](repeating: 0, count: dim)
        var mask = [Bool](repeating: false, count: actionLayout.maskWidth)
        if let fl = familyLayout {
            for w in 0..<fl.workers {
                let held = Int(g.next() % UInt64(fl.jobs))
                obs[fl.workerOffset(w) + held] = 1
                obs[fl.workerOffset(w) + fl.jobs] = g.nextUnit() < 0.3 ? Float(g.nextUnit() * 3) : 0
                for j in 0..<fl.jobs { mask[w * fl.jobs + j] = j == held || g.nextUnit() < 0.7 }
            }
            for i in fl.sharedOffset..<(fl.elapsedOffset) { obs[i] = Float(g.nextUnit() * 3) }
            obs[fl.elapsedOffset] = Float(g.nextUnit())
        } else {
            for i in 0..<dim { obs[i] = Float(g.nextUnit() * 4 - 2) }
            for c in 0..<actionLayout.components {
                let o = actionLayout.offsets[c], n = actionLayout.sizes[c]
                for i in 0..<n { mask[o + i] = g.nextUnit() < 0.7 }
                mask[o + Int(g.next() % UInt64(n))] = true
            }
        }
        return (obs, mask)
    }

    // MARK: The runtime

    /// The family layout, action layout and frozen policy the document describes.
    func frozen(source: String) throws -> (FrozenPolicy, ActionLayout, FamilyObservationLayout?) {
        func corrupt(_ m: String) -> FileError { FileError(kind: .corrupt, message: "\(source): \(m)") }
        let d = document
        var family: FamilyObservationLayout?
        if let f = d.observation.family {
            guard let l = f.layout, l.dimension == d.observation.dimension else {
                throw corrupt("observation.family contradicts itself or observation.dimension \(d.observation.dimension)")
            }
            family = l
        }
        guard !d.action.components.isEmpty, d.action.components.allSatisfy({ $0 >= 1 }),
              d.action.components.reduce(0, +) == d.action.maskWidth else {
            throw corrupt("action.components \(d.action.components) do not sum to action.mask_width \(d.action.maskWidth)")
        }
        let layout = ActionLayout(sizes: d.action.components)
        let signature = family.map { FamilyEncoder(layout: $0).signature }
        switch d.policy.kind {
        case .family, .moves:
            guard family != nil else { throw corrupt("a \(d.policy.kind.rawValue) policy without observation.family") }
        case .mlp: break
        case .auto: throw corrupt("policy.kind must be mlp, family or moves")
        }
        if let n = d.observation.normalization, !n.isValid {
            throw corrupt("observation.normalization \(n) is not a positive bill scale and episode length")
        }
        let policy = FrozenPolicy(algorithm: d.policy.algorithm, architecture: d.policy.kind, source: source, signature: signature,
                                  network: network, stayBias: d.policy.stayBias, movesLevels: d.policy.movesLevels,
                                  normalization: d.observation.normalization)
        return (policy, layout, family)
    }

    /// This library's runtime on the file: the policy bound to the layouts its document
    /// describes, decoding with the file's beam width.
    /// - Throws: ``FileError`` when the document and the network disagree.
    public func bind(source: String = "policy") throws -> BoundPolicy {
        let (policy, layout, family) = try frozen(source: source)
        do {
            return try policy.bind(observationDimension: document.observation.dimension, actionLayout: layout, familyLayout: family,
                                   beamWidth: max(1, document.policy.beamWidth))
        } catch let e as FrozenPolicy.LoadError {
            throw FileError(kind: .corrupt, message: e.message)
        }
    }

    // MARK: safetensors

    /// The file as safetensors bytes (docs/policy-format.md).
    public func safetensors() throws -> [UInt8] {
        var tensors = [String: SafetensorsFile.Tensor]()
        for (l, layer) in network.layers.enumerated() {
            tensors["actor.\(l).weight"] = .init(Array(network.weights(l)), shape: [layer.outputSize, layer.inputSize])
            tensors["actor.\(l).bias"] = .init(Array(network.bias(l)), shape: [layer.outputSize])
        }
        let d = document
        tensors["golden.observation"] = .init(golden.observations, shape: [golden.count, d.observation.dimension])
        tensors["golden.mask"] = .init(golden.masks, shape: [golden.count, d.action.maskWidth])
        tensors["golden.action"] = .init(golden.actions, shape: [golden.count, d.action.components.count])
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(d), as: UTF8.self)
        var file = SafetensorsFile(metadata: ["format": PolicyDocument.formatName,
                                              "format_version": String(PolicyDocument.currentFormatVersion),
                                              "policy": text], tensors: tensors)
        // The checksum covers the data section and the document: encode once to get the data.
        let draft = try file.encoded()
        file.metadata["sha256"] = Self.checksum(data: SafetensorsFile.dataSection(draft), document: text)
        return try file.encoded()
    }

    /// SHA-256 of the data section followed by the document's UTF-8 bytes, lowercase hex.
    static func checksum(data: ArraySlice<UInt8>, document: String) -> String {
        var h = SHA256()
        data.withUnsafeBytes { h.update($0) }
        h.update(Array(document.utf8))
        return h.finalizeHex()
    }

    /// Reads and verifies a policy file from `bytes` (`source` names it in errors): the
    /// container, the checksum, the format version, the document against the tensors' shapes,
    /// and the self-test (every golden case gives its action).
    public static func decode(_ bytes: [UInt8], source: String) throws -> PolicyFile {
        func corrupt(_ m: String) -> FileError { FileError(kind: .corrupt, message: "\(source): \(m)") }
        let file: SafetensorsFile
        do { file = try SafetensorsFile.decode(bytes, source: source) } catch let e as SafetensorsFile.FormatError {
            throw FileError(kind: .corrupt, message: e.message)
        }
        guard file.metadata["format"] == PolicyDocument.formatName else {
            throw corrupt("not a SwitchGym policy file (__metadata__.format is \(file.metadata["format"].map { "'\($0)'" } ?? "missing"), expected '\(PolicyDocument.formatName)')")
        }
        guard let text = file.metadata["policy"], let sum = file.metadata["sha256"] else {
            throw corrupt("__metadata__ lacks the policy document or its sha256")
        }
        let actual = checksum(data: SafetensorsFile.dataSection(bytes), document: text)
        guard actual == sum else {
            throw corrupt("checksum mismatch: the file says sha256 \(sum), its content hashes to \(actual); the file is corrupted or was altered")
        }
        guard file.metadata["format_version"] == String(PolicyDocument.currentFormatVersion) else {
            throw corrupt("format_version \(file.metadata["format_version"] ?? "missing"); this SwitchGym reads version \(PolicyDocument.currentFormatVersion)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let d: PolicyDocument
        do { d = try decoder.decode(PolicyDocument.self, from: Data(text.utf8)) } catch {
            throw corrupt("the policy document does not decode: \(error)")
        }
        let sizes = d.policy.network.sizes
        guard (2...66).contains(sizes.count), sizes.allSatisfy({ (1...(1 << 20)).contains($0) }) else {
            throw corrupt("policy.network.sizes \(sizes): expected 2 to 66 layers of 1...\(1 << 20) units")
        }
        guard (1...64).contains(d.policy.beamWidth), (1...10_000).contains(d.goldenCount) else {
            throw corrupt("policy.beam_width \(d.policy.beamWidth) (expected 1...64) or golden_count \(d.goldenCount) (expected 1...10000: a file without golden cases cannot be self-tested) out of range")
        }
        func tensor(_ name: String, _ dtype: SafetensorsFile.DType, _ shape: [Int]) throws -> SafetensorsFile.Tensor {
            guard let t = file.tensors[name] else { throw corrupt("missing tensor \(name)") }
            guard t.dtype == dtype, t.shape == shape else {
                throw corrupt("tensor \(name): \(t.dtype.rawValue) \(t.shape), expected \(dtype.rawValue) \(shape)")
            }
            return t
        }
        // Every layer's tensors are in the file (so its size bounds what is allocated) before the network is.
        var layers = [([Float], [Float])]()
        for l in 0..<(sizes.count - 1) {
            let w = try tensor("actor.\(l).weight", .F32, [sizes[l + 1], sizes[l]]).floats
            let b = try tensor("actor.\(l).bias", .F32, [sizes[l + 1]]).floats
            guard w.allSatisfy(\.isFinite), b.allSatisfy(\.isFinite) else { throw corrupt("layer \(l) has non-finite parameters") }
            layers.append((w, b))
        }
        let network = MLP(sizes: sizes, hiddenActivation: d.policy.network.hiddenActivation)
        for (l, (w, b)) in layers.enumerated() {
            _ = network.weights(l).update(from: w)
            _ = network.bias(l).update(from: b)
        }
        let n = d.goldenCount
        let golden = Golden(
            observations: try tensor("golden.observation", .F32, [n, d.observation.dimension]).floats,
            masks: try tensor("golden.mask", .U8, [n, d.action.maskWidth]).bytes,
            actions: try tensor("golden.action", .I32, [n, d.action.components.count]).int32s, count: n)
        let policy = PolicyFile(document: d, network: network, golden: golden)
        try policy.selfTest(source: source)
        return policy
    }

    /// Checks that every golden case gives its action with this library's runtime.
    public func selfTest(source: String) throws {
        let bound = try bind(source: source)
        let dim = document.observation.dimension, width = document.action.maskWidth, c = document.action.components.count
        for i in 0..<golden.count {
            let obs = Array(golden.observations[(i * dim)..<((i + 1) * dim)])
            let mask = golden.masks[(i * width)..<((i + 1) * width)].map { $0 != 0 }
            // `decide` checks the case as a server checks its input (finite observation, a mask
            // allowing a value of every component): a case `act` would answer anyway is refused.
            let got: [Int32]
            do { got = try bound.decide(observation: obs, mask: mask).map(Int32.init) } catch let e as FrozenPolicy.LoadError {
                throw FileError(kind: .corrupt, message: "\(source): self-test case \(i): \(e.message)")
            }
            let want = Array(golden.actions[(i * c)..<((i + 1) * c)])
            guard got == want else {
                throw FileError(kind: .corrupt, message: "\(source): self-test case \(i): action \(got), the file expects \(want)")
            }
        }
    }

    /// Reads and verifies the policy file at `path` (``decode(_:source:)``).
    public static func read(path: String) throws -> PolicyFile {
        let bytes: [UInt8]
        do {
            // At most 1 GiB: a policy file is its network and a few golden cases (the largest
            // shipped one is under 1 MB), and a larger input is refused before it is read.
            bytes = try FileSystem.readAll(path, limit: 1 << 30, what: "a policy file from switchgym export")
        } catch let e as SwitchGymIOError where e.kind == .invalidArgument {
            throw FileError(kind: .corrupt, message: e.description)
        } catch {
            throw FileError(kind: .notFound, message: "\(path): cannot read the policy file (missing or unreadable)")
        }
        return try decode(bytes, source: path)
    }

    /// Writes the safetensors file atomically (a reader never sees a partial file).
    public func write(to path: String) throws {
        try AtomicOutput.write(bytes: try safetensors(), to: path)
    }
}

// MARK: A policy to run, from a checkpoint or a policy file

extension PolicyFile {
    /// Whether `path` is a file that starts as safetensors does (an 8-byte header length, then
    /// `{`): a policy file `switchgym export` wrote rather than an HDF5 checkpoint or a folder.
    public static func isPolicyFile(path: String) -> Bool {
        // A regular file only: opening a FIFO would wait for a writer.
        guard (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular,
              let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        guard let head = try? h.read(upToCount: 9), head.count == 9 else { return false }
        return head[head.startIndex + 8] == UInt8(ascii: "{")
    }

    /// The file's policy as a ``FrozenPolicy`` (its frozen normalisation included).
    /// - Throws: ``FileError`` when the document and the network disagree.
    public func frozenPolicy(source: String) throws -> FrozenPolicy { try frozen(source: source).0 }
}

/// A trained policy as `eval`, `envs simulate`, `envs fidelity` and `envs rollout` run it: from a
/// checkpoint or run folder (``FrozenPolicy/load(path:)``), decoded with
/// ``FrozenPolicy/defaultBeamWidth``, or from a policy file that `switchgym export` wrote
/// (``PolicyFile/read(path:)``: verified, decoded with the file's own beam width), so that the file
/// a serving core loads is the one evaluated.
public struct RunnablePolicy {
    public let policy: FrozenPolicy
    /// Beams of the family policy's search (1: greedy).
    public let beamWidth: Int
    /// The scenario a policy file was exported for; nil for a checkpoint.
    public let scenario: PolicyDocument.Scenario?

    /// Reads the policy at `path`: a policy file, a checkpoint or a run folder.
    /// - Throws: ``FrozenPolicy/LoadError`` (a policy file's errors with their kind), or the
    ///   checkpoint reader's error.
    public static func load(path: String) throws -> RunnablePolicy {
        guard PolicyFile.isPolicyFile(path: path) else {
            return RunnablePolicy(policy: try FrozenPolicy.load(path: path), beamWidth: FrozenPolicy.defaultBeamWidth, scenario: nil)
        }
        do {
            let file = try PolicyFile.read(path: path)
            return RunnablePolicy(policy: try file.frozenPolicy(source: path), beamWidth: max(1, file.document.policy.beamWidth),
                                  scenario: file.document.scenario)
        } catch let e as PolicyFile.FileError {
            let kind: FrozenPolicy.LoadError.Kind = e.kind == .notFound ? .notFound : e.kind == .incompatible ? .incompatible : .corrupt
            throw FrozenPolicy.LoadError(kind: kind, message: e.message)
        }
    }

    /// A note when a policy file was exported for another scenario than `fingerprint` (name
    /// `name`): it still runs where the layouts fit (a family policy on another fleet of the
    /// same classes and variants), as a checkpoint would; nil when it matches or is a checkpoint.
    public func otherScenarioNote(name: String, fingerprint: String) -> String? {
        guard let s = scenario, s.fingerprint != fingerprint else { return nil }
        return "note: \(policy.source) was exported for scenario '\(s.name)' (fingerprint \(s.fingerprint.prefix(12))), "
            + "not for '\(name)' (\(fingerprint.prefix(12))); it runs where its layouts fit, as a checkpoint would."
    }

    /// ``FrozenPolicy/bind(observationDimension:actionLayout:familyLayout:beamWidth:)`` with this beam width.
    public func bind(observationDimension: Int, actionLayout: ActionLayout, familyLayout: FamilyObservationLayout?) throws -> BoundPolicy {
        try policy.bind(observationDimension: observationDimension, actionLayout: actionLayout, familyLayout: familyLayout,
                        beamWidth: beamWidth)
    }
}
