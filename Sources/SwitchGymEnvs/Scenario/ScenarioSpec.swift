import Foundation
import SwitchGymCore
import TOMLKit

/// Reads serving scenarios from TOML spec files (`envs/*.toml`).
///
/// Every key is checked: an unknown key, a missing required key or a value of the wrong type
/// is a ``ScenarioError`` naming the file and the key path (`variants[2].latency_ms`). A
/// relative `trace.dataset` path is resolved against the spec file's folder. The format is
/// documented in `envs/README.md`.
public enum ScenarioSpec {
    /// Reads and validates the spec at `path`.
    public static func load(path: String) throws -> ServingScenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioError(file: path, key: "", message: "cannot read the file (missing or unreadable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(file: path, key: "", message: "expected UTF-8 TOML text")
        }
        let base = (path as NSString).deletingLastPathComponent
        return try parse(text, file: path, baseDirectory: base.isEmpty ? "." : base)
    }

    /// Parses spec text; `file` names it in errors, `baseDirectory` resolves a relative dataset.
    public static func parse(_ text: String, file: String, baseDirectory: String = ".") throws -> ServingScenario {
        let root = try resolveExtends(try table(text, file: file), file: file, baseDirectory: baseDirectory, depth: 0)
        let r = Reader(table: root, path: "", file: file)
        let name = try r.string("name", nonEmpty: true)
        let summary = try r.optionalString("description") ?? ""
        let interval = try r.double("decision_interval_s", ScenarioBounds.decisionInterval)
        let episode = try r.optionalInt("episode_intervals", ScenarioBounds.episodeIntervals)
        let loadFromName = try r.optionalString("load_from") ?? "disk"
        guard let loadFrom = LoadSource(rawValue: loadFromName) else {
            throw ScenarioError(file: file, key: "load_from", message: "expected \"disk\" or \"ram\", got \"\(loadFromName)\"")
        }

        // [trace]
        let t = try r.table("trace")
        var source = ScenarioTraceSource.defaultSynthetic
        let dataset = try t.optionalString("dataset")
        let synthetic = try t.optionalString("synthetic")
        switch (dataset, synthetic) {
        case (let d?, nil):
            source = .dataset(d.hasPrefix("/") ? d : (baseDirectory as NSString).appendingPathComponent(d))
        case (nil, let s?):
            guard s == "default" else {
                throw ScenarioError(file: file, key: "trace.synthetic", message: "expected \"default\", got \"\(s)\"")
            }
        case (nil, nil):
            throw ScenarioError(file: file, key: "trace", message: "expected either dataset = PATH or synthetic = \"default\"")
        case (_?, _?):
            throw ScenarioError(file: file, key: "trace", message: "expected only one of dataset and synthetic")
        }
        let rateScale = try t.optionalDouble("rate_scale", ScenarioBounds.rateScale)
        let meanRate = try t.optionalDouble("mean_rate", ScenarioBounds.meanRate)
        if rateScale != nil && meanRate != nil {
            throw ScenarioError(file: file, key: "trace", message: "expected only one of rate_scale and mean_rate")
        }
        var lengths: TokenLengthDistribution?
        if let l = try t.optionalTable("lengths") {
            lengths = TokenLengthDistribution(
                promptMedian: try l.double("prompt_median", ScenarioBounds.lengthMedian),
                promptSigma: try l.double("prompt_sigma", ScenarioBounds.lengthSigma),
                promptMax: try l.optionalInt("prompt_max", ScenarioBounds.lengthMax) ?? 32_768,
                outputMedian: try l.double("output_median", ScenarioBounds.lengthMedian),
                outputSigma: try l.double("output_sigma", ScenarioBounds.lengthSigma),
                outputMax: try l.optionalInt("output_max", ScenarioBounds.lengthMax) ?? 8192)
            try l.finish()
        }
        try t.finish()

        // [reward]
        var weights = ServingRewardWeights()
        if let w = try r.optionalTable("reward") {
            weights.served = try w.optionalDouble("served", ScenarioBounds.rewardWeight) ?? weights.served
            weights.accuracy = try w.optionalDouble("accuracy", ScenarioBounds.rewardWeight) ?? weights.accuracy
            weights.cost = try w.optionalDouble("cost", ScenarioBounds.rewardWeight) ?? weights.cost
            weights.slo = try w.optionalDouble("slo", ScenarioBounds.rewardWeight) ?? weights.slo
            try w.finish()
        }

        // [observation]
        var windows = [1, 4, 16]
        var forecast = false
        var forecastNoise = 0.0
        if let o = try r.optionalTable("observation") {
            windows = try o.optionalInts("history_windows", ScenarioBounds.historyWindow) ?? windows
            // forecast = "none" | "oracle" | "noisy" (or true / false for oracle / none).
            let kind: String
            if let v = o.table["forecast"], let b = v.bool { kind = b ? "oracle" : "none"; _ = try o.optionalBool("forecast") }
            else { kind = try o.optionalString("forecast") ?? "none" }
            switch kind {
            case "none": forecast = false
            case "oracle": forecast = true
            case "noisy": forecast = true; forecastNoise = 0.3
            default:
                throw ScenarioError(file: file, key: "observation.forecast", message: "expected \"none\", \"oracle\" or \"noisy\", got \"\(kind)\"")
            }
            if let n = try o.optionalDouble("forecast_noise", ScenarioBounds.forecastNoise) {
                guard kind == "noisy" else {
                    throw ScenarioError(file: file, key: "observation.forecast_noise", message: "applies to forecast = \"noisy\" only")
                }
                forecastNoise = n
            }
            try o.finish()
        }

        // [training]
        var trainingLoadScale: LoadAugmentation?
        var trainingBlockBootstrap: BlockBootstrap?
        if let tr = try r.optionalTable("training") {
            if let f = try tr.optionalDoubles("load_scale", LoadAugmentation.bounds, count: InputBounds.closed(2, 2, unit: "factors")) {
                let a = LoadAugmentation(low: f[0], high: f[1])
                if let m = a.violation { throw ScenarioError(file: file, key: tr.key("load_scale"), message: m) }
                trainingLoadScale = a
            }
            let block = try tr.optionalDouble("block_bootstrap", BlockBootstrap.bounds)
            let empty = try tr.optionalDoubles("empty_fraction", BlockBootstrap.emptyBounds, count: InputBounds.closed(2, 2, unit: "fractions"))
            if let e = empty, e[0] > e[1] {
                throw ScenarioError(file: file, key: tr.key("empty_fraction"), message: "expected low <= high, got [\(e[0]), \(e[1])]")
            }
            if block != nil || empty != nil {
                trainingBlockBootstrap = BlockBootstrap(meanBlock: block ?? BlockBootstrap.wholeTrace, emptyFraction: empty.map { $0[0]...$0[1] })
            }
            try tr.finish()
        }

        // [[variants]]
        var variants: [ModelVariant] = []
        for v in try r.tables("variants") {
            var variant = ModelVariant(
                name: try v.string("name", nonEmpty: true), accuracy: try v.double("accuracy", ScenarioBounds.fraction),
                batchSizes: try v.ints("batch_sizes", ScenarioBounds.batchSize), latencyMs: try v.doubles("latency_ms", ScenarioBounds.latency),
                memoryGB: try v.double("memory_gb", ScenarioBounds.memory), loadSecondsDisk: try v.double("load_s_disk", ScenarioBounds.loadSeconds),
                loadSecondsRAM: try v.double("load_s_ram", ScenarioBounds.loadSeconds),
                costPerSecond: try v.optionalDouble("cost_per_s", ScenarioBounds.cost) ?? 0,
                hardware: try v.optionalString("hardware", nonEmpty: true) ?? "gpu")
            if let l = try v.optionalTable("llm") { variant.llm = try llmStepModel(l, memoryGB: variant.memoryGB) }
            variants.append(variant)
            try v.finish()
        }

        // [[fleet]]
        var fleet: [Device] = []
        var initialNames: [String?] = []
        for d in try r.tables("fleet") {
            let base = try d.string("name", nonEmpty: true)
            let count = try d.optionalInt("count", ScenarioBounds.deviceCount) ?? 1
            guard count <= ServingScenario.maxDevices - fleet.count else {
                throw ScenarioError(file: file, key: d.key("count"),
                                    message: "the fleet would have \(count > ServingScenario.maxDevices ? "more than \(ServingScenario.maxDevices)" : "\(fleet.count + count)") devices; at most \(ServingScenario.maxDevices) are supported")
            }
            let kind = try d.optionalString("kind", nonEmpty: true) ?? "gpu"
            let memory = try d.double("memory_gb", ScenarioBounds.memory)
            let ram = try d.optionalDouble("host_ram_gb", ScenarioBounds.memory) ?? 0
            let initial = try d.optionalString("initial")
            let concurrency = try d.optionalInt("concurrency", ScenarioBounds.concurrency) ?? 1
            let gpus = try d.optionalInt("gpus", ScenarioBounds.gpus) ?? 1
            try d.finish()
            for i in 0..<count {
                fleet.append(Device(name: count == 1 ? base : "\(base)-\(i)", kind: kind, memoryGB: memory, hostRAMGB: ram,
                                    concurrency: concurrency, gpus: gpus))
                initialNames.append(initial)
            }
        }

        // [[streams]]
        var streams: [SLOStream] = []
        var sharesGiven: [String] = []
        for s in try r.tables("streams") {
            let kind = try s.optionalString("penalty") ?? "stepwise"
            let penalty: LatenessPenalty
            switch kind {
            case "stepwise": penalty = .stepwise(amount: try s.optionalDouble("penalty_amount", ScenarioBounds.penalty) ?? 1)
            case "linear": penalty = .linear(rate: try s.optionalDouble("penalty_amount", ScenarioBounds.penalty) ?? 1)
            case "logarithmic": penalty = .logarithmic(scale: try s.optionalDouble("penalty_amount", ScenarioBounds.penalty) ?? 1)
            case "table": penalty = .table(try s.doubles("penalty_table", ScenarioBounds.penalty, count: ScenarioBounds.penaltyTableLength))
            default:
                throw ScenarioError(file: file, key: s.key("penalty"),
                                    message: "expected stepwise, linear, logarithmic or table, got \"\(kind)\"")
            }
            let share = try s.optionalDouble("share", ScenarioBounds.fraction)
            let selector = StreamSelector(kinds: try s.optionalStrings("trace_kinds"),
                                          minTokensIn: try s.optionalInt("min_tokens_in", ScenarioBounds.tokens),
                                          maxTokensIn: try s.optionalInt("max_tokens_in", ScenarioBounds.tokens))
            streams.append(SLOStream(
                name: try s.string("name", nonEmpty: true), deadlineMs: try s.double("deadline_ms", ScenarioBounds.deadline),
                share: share ?? 1, minAccuracy: try s.optionalDouble("min_accuracy", ScenarioBounds.fraction) ?? 0,
                penalty: penalty, weight: try s.optionalDouble("weight", ScenarioBounds.streamWeight) ?? 1,
                dropAfterIntervals: try s.optionalInt("drop_after", ScenarioBounds.dropAfter) ?? 4,
                dropPenalty: try s.optionalDouble("drop_penalty", ScenarioBounds.penalty) ?? 0,
                select: selector.isRest ? nil : selector,
                ttftDeadlineMs: try s.optionalDouble("ttft_deadline_ms", ScenarioBounds.deadline)))
            if share != nil { sharesGiven.append(s.key("share")) }
            try s.finish()
        }
        // Streams chosen by origin: every stream gets a selector (the one without criteria takes
        // the rest) and the mix is the trace's own, so no stream may set a share.
        if streams.contains(where: { $0.select != nil }) {
            if let k = sharesGiven.first {
                throw ScenarioError(file: file, key: k, message:
                    "the mix comes from the trace when streams select their requests (trace_kinds, min_tokens_in, max_tokens_in); remove share")
            }
            for i in streams.indices {
                streams[i].share = 0
                if streams[i].select == nil { streams[i].select = StreamSelector() }
            }
        }
        try r.finish()

        // Unique names first: `initial` looks variants up by name.
        for (what, names) in [("variants", variants.map(\.name)), ("streams", streams.map(\.name))] {
            if let (i, j) = ServingScenario.firstDuplicate(names) {
                throw ScenarioError(file: file, key: "\(what)[\(j)].name",
                                    message: "duplicate name \"\(names[j])\" (also \(what)[\(i)]); names must be unique")
            }
        }
        var initial: [Int] = []
        for (d, n) in initialNames.enumerated() {
            if let n {
                guard let v = variants.firstIndex(where: { $0.name == n }) else {
                    throw ScenarioError(file: file, key: "fleet.initial",
                                        message: "device \(fleet[d].name): unknown variant \"\(n)\" (known: \(variants.map(\.name).joined(separator: ", ")))")
                }
                initial.append(v)
            } else {
                initial.append(variants.firstIndex(where: { fleet[d].canHold($0) }) ?? 0)
            }
        }
        let scenario = ServingScenario(
            name: name, summary: summary, sourcePath: file, variants: variants, fleet: fleet, streams: streams,
            decisionInterval: interval, episodeIntervals: episode, loadFrom: loadFrom, weights: weights,
            trace: source, rateScale: rateScale ?? 1, targetMeanRate: meanRate, initialVariants: initial, historyWindows: windows, forecast: forecast,
            forecastNoise: forecastNoise, tokenLengths: lengths, trainingLoadScale: trainingLoadScale,
            trainingBlockBootstrap: trainingBlockBootstrap)
        try scenario.validate()
        return scenario
    }

    /// Reads a variant's `[variants.llm]` table. Without `kv_blocks`, the KV cache is the
    /// memory the variant occupies on its `tensor_parallel` GPUs (`memory_gb` on each) less
    /// `weights_gb` (the whole model's, split over them), in blocks of `kv_block_tokens` tokens.
    static func llmStepModel(_ l: Reader, memoryGB: Double) throws -> LLMStepModel {
        typealias B = ScenarioBounds
        let weights = try l.double("weights_gb", B.weightsGB)
        let kvBytes = try l.double("kv_bytes_per_token", B.kvBytesPerToken)
        let blockTokens = try l.optionalInt("kv_block_tokens", B.kvBlockTokens) ?? 16
        let tp = try l.optionalInt("tensor_parallel", B.tensorParallel) ?? 1
        var blocks = try l.optionalInt("kv_blocks", B.kvBlocks)
        if blocks == nil {
            let shard = weights / Double(tp), kvGB = LLMStepModel.kvGB(memoryPerGPU: memoryGB, weightsGB: weights, tensorParallel: tp)
            guard shard < memoryGB else {
                let what = tp == 1 ? "" : " on each of its \(tp) GPUs (weights_gb / tensor_parallel = \(shard) GB)"
                throw ScenarioError(file: l.file, key: l.key("weights_gb"), message:
                    "expected less than the variant's memory_gb (\(memoryGB))\(what): the rest is the KV cache (or set kv_blocks)")
            }
            let n = LLMStepModel.blocks(kvGB: kvGB, kvBytesPerToken: kvBytes, kvBlockTokens: blockTokens)
            if let m = B.kvBlocks.violation(n) {
                let how = tp == 1 ? "memory_gb - weights_gb" : "tensor_parallel x memory_gb - weights_gb"
                throw ScenarioError(file: l.file, key: l.key("kv_blocks"), message:
                    "the \(kvGB) GB of KV cache (\(how)) hold \(n) blocks: \(m)")
            }
            blocks = n
        }
        let model = LLMStepModel(
            stepBaseUs: try l.double("step_base_us", B.stepMicroseconds),
            prefillUsPerToken: try l.double("prefill_us_per_token", B.stepMicroseconds),
            decodeUsPerToken: try l.double("decode_us_per_token", B.stepMicroseconds),
            weightsGB: weights, kvBytesPerToken: kvBytes, kvBlockTokens: blockTokens, kvBlocks: blocks!,
            maxRunning: try l.optionalInt("max_running", B.maxRunning) ?? 256,
            maxBatchedTokens: try l.optionalInt("max_batched_tokens", B.maxBatchedTokens) ?? 8192,
            chunkedPrefill: try l.optionalBool("chunked_prefill") ?? false,
            tensorParallel: tp,
            wakeSeconds: try l.optionalDouble("wake_s", B.loadSeconds))
        if model.stepBaseUs + model.prefillUsPerToken <= 0 || model.stepBaseUs + model.decodeUsPerToken <= 0 {
            throw ScenarioError(file: l.file, key: l.key("step_base_us"), message:
                "a step must take time: expected step_base_us + prefill_us_per_token > 0 and step_base_us + decode_us_per_token > 0")
        }
        try l.finish()
        return model
    }

    static func table(_ text: String, file: String) throws -> TOMLTable {
        try checkTableHeaders(text, file: file)
        do {
            return try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ScenarioError(file: file, key: "", message:
                "not valid TOML at line \(e.source.begin.line), column \(e.source.begin.column): \(e.description)")
        }
    }

    /// Refuses a table header whose first character after `[` or `[[` (and spaces) cannot
    /// start a key (`[.a]`, `[=]`, `[+x]`, `[[ [a`): toml++ (inside TOMLKit) asserts on these instead of
    /// reporting them (an abort in a debug build; undefined behaviour with assertions off), so
    /// they never reach it. Found by fuzzing (Scripts/fuzz.sh spec).
    ///
    /// A header is a `[` that starts a statement: first on its line, outside strings, comments
    /// and the brackets and braces of a value (a value's array may span lines). The brackets and
    /// braces of values must match, too (`[1, }` is refused here).
    static func checkTableHeaders(_ text: String, file: String) throws {
        let b = Array(text.utf8)
        var i = 0, line = 1, lineStart = true
        // The brackets and braces of the value being read (`[` or `{`), innermost last.
        var open: [UInt8] = []
        func isKeyStart(_ c: UInt8) -> Bool {
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                || c == 0x5F || c == 0x2D || c == 0x22 || c == 0x27 || c == 0x5D
        }
        func skipString(_ q: UInt8) {
            let multi = i + 2 < b.count && b[i + 1] == q && b[i + 2] == q
            i += multi ? 3 : 1
            while i < b.count {
                if b[i] == 0x0A { line += 1; if !multi { return } }
                if q == 0x22 && b[i] == 0x5C { i += 2; continue }
                if b[i] == q && (!multi || (i + 2 < b.count && b[i + 1] == q && b[i + 2] == q)) {
                    i += multi ? 3 : 1
                    return
                }
                i += 1
            }
        }
        while i < b.count {
            let c = b[i]
            switch c {
            case 0x0A: line += 1; lineStart = true; i += 1; continue
            case 0x20, 0x09, 0x0D: i += 1; continue
            case 0x23: while i < b.count && b[i] != 0x0A { i += 1 }; continue
            case 0x22, 0x27: skipString(c); lineStart = false; continue
            case 0x5B where lineStart && open.isEmpty:
                var j = i + 1
                if j < b.count && b[j] == 0x5B { j += 1 }
                while j < b.count && (b[j] == 0x20 || b[j] == 0x09) { j += 1 }
                if j < b.count && !isKeyStart(b[j]) {
                    let shown = String(decoding: b[i..<min(b.count, j + 1)], as: UTF8.self)
                    throw ScenarioError(file: file, key: "", message:
                        "not valid TOML at line \(line): the table header \(shown.debugDescription) does not start with a key "
                        + "(expected [name] or [[name]], a name being letters, digits, _ and - or a quoted string)")
                }
                // The header's own brackets and keys: skip to its end (quoted keys may hold brackets).
                i += 1
                while i < b.count && b[i] != 0x5D && b[i] != 0x0A {
                    if b[i] == 0x22 || b[i] == 0x27 { skipString(b[i]) } else { i += 1 }
                }
                lineStart = false
                continue
            case 0x5B, 0x7B: open.append(c)
            case 0x5D, 0x7D:
                // A value's brackets must match: toml++ asserts on an array closed by `}`
                // (`[1, }`) instead of reporting it.
                guard let top = open.popLast() else { break }
                if top != (c == 0x5D ? 0x5B : 0x7B) {
                    throw ScenarioError(file: file, key: "", message:
                        "not valid TOML at line \(line): \"\(Character(Unicode.Scalar(c)))\" closes \(top == 0x5B ? "an array" : "an inline table") "
                        + "opened with \"\(Character(Unicode.Scalar(top)))\"")
                }
            default: break
            }
            lineStart = false
            i += 1
        }
    }

    /// `extends = "base.toml"` (relative to the spec's folder): the spec is the base spec with
    /// this one's keys on top. Tables (`[trace]`, `[reward]`, `[observation]`) merge key by key
    /// (a `dataset` or `synthetic` here replaces both of the base's, as `mean_rate` or
    /// `rate_scale` does); anything else, arrays of tables (`[[streams]]`) included, replaces
    /// the base's whole. Relative dataset paths resolve against the extending spec's folder.
    static func resolveExtends(_ root: TOMLTable, file: String, baseDirectory: String, depth: Int) throws -> TOMLTable {
        guard let v = root["extends"] else { return root }
        guard let name = v.string else { throw ScenarioError(file: file, key: "extends", message: "expected a spec path, got \(v.type)") }
        guard depth < 8 else { throw ScenarioError(file: file, key: "extends", message: "more than 8 levels of extends (a cycle?)") }
        let path = name.hasPrefix("/") ? name : (baseDirectory as NSString).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(file: file, key: "extends", message: "cannot read the base spec \(path) (missing, unreadable or not UTF-8)")
        }
        let dir = (path as NSString).deletingLastPathComponent
        let base = try resolveExtends(try table(text, file: path), file: path, baseDirectory: dir.isEmpty ? "." : dir, depth: depth + 1)
        return merged(base, root, exclusive: [["dataset", "synthetic"], ["mean_rate", "rate_scale"]])
    }

    /// `top` over `base`: sub-tables merge recursively; other values of `top` replace the base's.
    /// A key of `top` in one of the `exclusive` groups drops the base's keys of that group.
    static func merged(_ base: TOMLTable, _ top: TOMLTable, exclusive: [[String]]) -> TOMLTable {
        let out = TOMLTable()
        let topKeys = Set(top.keys)
        let dropped = Set(exclusive.filter { !topKeys.isDisjoint(with: $0) }.joined())
        for k in base.keys where !dropped.contains(k) && k != "extends" { out[k] = base[k] }
        for k in top.keys where k != "extends" {
            if let b = base[k]?.table, let t = top[k]?.table {
                out[k] = merged(b, t, exclusive: exclusive)
            } else {
                out[k] = top[k]
            }
        }
        return out
    }

    /// Reads one table's keys, remembering which were used so ``finish()`` can reject the rest.
    final class Reader {
        let table: TOMLTable
        let path: String
        let file: String
        private var used = Set<String>()

        init(table: TOMLTable, path: String, file: String) {
            self.table = table
            self.path = path
            self.file = file
        }

        func key(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }

        private func fail(_ k: String, _ m: String) -> ScenarioError { ScenarioError(file: file, key: key(k), message: m) }

        private func value(_ k: String) -> TOMLValueConvertible? {
            used.insert(k)
            return table[k]
        }

        /// Throws for every key that no accessor asked for.
        func finish() throws {
            let unknown = table.keys.filter { !used.contains($0) }.sorted()
            if let k = unknown.first {
                throw fail(k, "unknown key (expected one of: \(used.sorted().joined(separator: ", ")))")
            }
        }

        /// Throws naming `k` when `x` is outside `bounds` (nothing when `bounds` is `nil`).
        private func check(_ k: String, _ x: Double, _ bounds: InputBounds?) throws {
            if let m = bounds?.violation(x) { throw fail(k, m) }
        }

        private func check(_ k: String, _ x: Int, _ bounds: InputBounds?) throws {
            if let m = bounds?.violation(x) { throw fail(k, m) }
        }

        func optionalString(_ k: String, nonEmpty: Bool = false) throws -> String? {
            guard let v = value(k) else { return nil }
            guard let s = v.string else { throw fail(k, "expected a string, got \(v.type)") }
            if nonEmpty && s.trimmingCharacters(in: .whitespaces).isEmpty { throw fail(k, "expected a non-empty string") }
            return s
        }

        func string(_ k: String, nonEmpty: Bool = false) throws -> String {
            guard let s = try optionalString(k, nonEmpty: nonEmpty) else { throw fail(k, "missing; expected a string") }
            return s
        }

        /// A number (an integer is read as a double) within `bounds`, when given.
        func optionalDouble(_ k: String, _ bounds: InputBounds? = nil) throws -> Double? {
            guard let v = value(k) else { return nil }
            let d: Double
            if let x = v.double { d = x } else if let i = v.int { d = Double(i) } else {
                throw fail(k, "expected a number, got \(v.type)")
            }
            try check(k, d, bounds)
            return d
        }

        func double(_ k: String, _ bounds: InputBounds? = nil) throws -> Double {
            guard let d = try optionalDouble(k, bounds) else { throw fail(k, "missing; expected a number") }
            return d
        }

        /// An integer within `bounds`, when given.
        func optionalInt(_ k: String, _ bounds: InputBounds? = nil) throws -> Int? {
            guard let v = value(k) else { return nil }
            guard let i = v.int else { throw fail(k, "expected an integer, got \(v.type)") }
            try check(k, i, bounds)
            return i
        }

        func optionalBool(_ k: String) throws -> Bool? {
            guard let v = value(k) else { return nil }
            guard let b = v.bool else { throw fail(k, "expected true or false, got \(v.type)") }
            return b
        }

        func optionalStrings(_ k: String) throws -> [String]? {
            guard let v = value(k) else { return nil }
            guard let a = v.array else { throw fail(k, "expected an array of strings, got \(v.type)") }
            return try a.enumerated().map { i, x in
                guard let s = x.string else { throw fail("\(k)[\(i)]", "expected a string, got \(x.type)") }
                return s
            }
        }

        /// An array of numbers, each within `bounds`, of a length within `count`, when given.
        func optionalDoubles(_ k: String, _ bounds: InputBounds? = nil, count: InputBounds? = nil) throws -> [Double]? {
            guard let v = value(k) else { return nil }
            guard let a = v.array else { throw fail(k, "expected an array of numbers, got \(v.type)") }
            if let m = count?.violation(a.count) { throw fail(k, "length: \(m)") }
            return try a.enumerated().map { i, x in
                let d: Double
                if let y = x.double { d = y } else if let n = x.int { d = Double(n) } else {
                    throw fail("\(k)[\(i)]", "expected a number, got \(x.type)")
                }
                try check("\(k)[\(i)]", d, bounds)
                return d
            }
        }

        func doubles(_ k: String, _ bounds: InputBounds? = nil, count: InputBounds? = nil) throws -> [Double] {
            guard let d = try optionalDoubles(k, bounds, count: count) else { throw fail(k, "missing; expected an array of numbers") }
            return d
        }

        /// An array of integers, each within `bounds`, when given.
        func optionalInts(_ k: String, _ bounds: InputBounds? = nil) throws -> [Int]? {
            guard let v = value(k) else { return nil }
            guard let a = v.array else { throw fail(k, "expected an array of integers, got \(v.type)") }
            return try a.enumerated().map { i, x in
                guard let n = x.int else { throw fail("\(k)[\(i)]", "expected an integer, got \(x.type)") }
                try check("\(k)[\(i)]", n, bounds)
                return n
            }
        }

        func ints(_ k: String, _ bounds: InputBounds? = nil) throws -> [Int] {
            guard let d = try optionalInts(k, bounds) else { throw fail(k, "missing; expected an array of integers") }
            return d
        }

        func optionalTable(_ k: String) throws -> Reader? {
            guard let v = value(k) else { return nil }
            guard let t = v.table else { throw fail(k, "expected a table [\(key(k))], got \(v.type)") }
            return Reader(table: t, path: key(k), file: file)
        }

        func table(_ k: String) throws -> Reader {
            guard let t = try optionalTable(k) else { throw fail(k, "missing; expected a table [\(key(k))]") }
            return t
        }

        /// An array of tables (`[[k]]`), each reader named `k[i]`.
        func tables(_ k: String) throws -> [Reader] {
            guard let v = value(k) else { throw fail(k, "missing; expected one or more [[\(key(k))]] tables") }
            guard let a = v.array else { throw fail(k, "expected an array of tables [[\(key(k))]], got \(v.type)") }
            return try a.enumerated().map { i, x in
                guard let t = x.table else { throw fail("\(k)[\(i)]", "expected a table, got \(x.type)") }
                return Reader(table: t, path: "\(key(k))[\(i)]", file: file)
            }
        }
    }
}
