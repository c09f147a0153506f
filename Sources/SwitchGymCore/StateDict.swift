/// A flat, named bag of arrays and scalars: everything a component (an agent, an optimiser, a
/// normaliser, a generator) must save so that a restored copy continues exactly where the
/// original left off. Checkpoints store one `StateDict` per run (see `CheckpointFile` in
/// SwitchGymAgents); components export into it under a key prefix and restore from it.
///
/// Keys are `/`-separated paths (`"policy/layer0/weight"`); values keep their exact bits.
public struct StateDict: Sendable, Equatable {
    /// 32-bit float arrays (weights, optimiser moments).
    public var floats: [String: [Float]] = [:]
    /// 64-bit float arrays (running statistics, schedules).
    public var doubles: [String: [Double]] = [:]
    /// Unsigned 64-bit arrays (generator states, counters).
    public var integers: [String: [UInt64]] = [:]
    /// Strings (the resolved config as JSON, algorithm names).
    public var strings: [String: String] = [:]

    public init() {}

    /// Every key, sorted.
    public var keys: [String] {
        (Array(floats.keys) + Array(doubles.keys) + Array(integers.keys) + Array(strings.keys)).sorted()
    }

    /// The float array at `key`, or an error naming the key and the expected count.
    public func floats(_ key: String, count: Int? = nil) throws -> [Float] {
        guard let v = floats[key] else { throw StateDictError.missing(key: key, kind: "float32 array") }
        if let count, v.count != count { throw StateDictError.shape(key: key, expected: count, found: v.count) }
        return v
    }

    /// The double array at `key`, or an error naming the key and the expected count.
    public func doubles(_ key: String, count: Int? = nil) throws -> [Double] {
        guard let v = doubles[key] else { throw StateDictError.missing(key: key, kind: "float64 array") }
        if let count, v.count != count { throw StateDictError.shape(key: key, expected: count, found: v.count) }
        return v
    }

    /// The integer array at `key`, or an error naming the key and the expected count.
    public func integers(_ key: String, count: Int? = nil) throws -> [UInt64] {
        guard let v = integers[key] else { throw StateDictError.missing(key: key, kind: "uint64 array") }
        if let count, v.count != count { throw StateDictError.shape(key: key, expected: count, found: v.count) }
        return v
    }

    /// The string at `key`.
    public func string(_ key: String) throws -> String {
        guard let v = strings[key] else { throw StateDictError.missing(key: key, kind: "string") }
        return v
    }

    /// Stores a generator's state under `key` (4 words).
    public mutating func setGenerator(_ g: SeededGenerator, at key: String) {
        integers[key] = [g.state.0, g.state.1, g.state.2, g.state.3]
    }

    /// Restores a generator saved by ``setGenerator(_:at:)``.
    public func generator(_ key: String) throws -> SeededGenerator {
        let s = try integers(key, count: 4)
        return SeededGenerator(state: (s[0], s[1], s[2], s[3]))
    }

    /// Copies every entry of `other` under `prefix + "/"`.
    public mutating func merge(_ other: StateDict, prefix: String) {
        for (k, v) in other.floats { floats[prefix + "/" + k] = v }
        for (k, v) in other.doubles { doubles[prefix + "/" + k] = v }
        for (k, v) in other.integers { integers[prefix + "/" + k] = v }
        for (k, v) in other.strings { strings[prefix + "/" + k] = v }
    }

    /// The entries under `prefix + "/"`, with the prefix removed.
    public func subset(_ prefix: String) -> StateDict {
        let p = prefix + "/"
        var out = StateDict()
        for (k, v) in floats where k.hasPrefix(p) { out.floats[String(k.dropFirst(p.count))] = v }
        for (k, v) in doubles where k.hasPrefix(p) { out.doubles[String(k.dropFirst(p.count))] = v }
        for (k, v) in integers where k.hasPrefix(p) { out.integers[String(k.dropFirst(p.count))] = v }
        for (k, v) in strings where k.hasPrefix(p) { out.strings[String(k.dropFirst(p.count))] = v }
        return out
    }
}

/// Why a ``StateDict`` could not be restored.
public enum StateDictError: Error, Equatable, CustomStringConvertible {
    case missing(key: String, kind: String)
    case shape(key: String, expected: Int, found: Int)

    public var description: String {
        switch self {
        case .missing(let key, let kind): return "state entry '\(key)' is missing (expected a \(kind))."
        case .shape(let key, let expected, let found):
            return "state entry '\(key)' has \(found) values, expected \(expected)."
        }
    }
}
