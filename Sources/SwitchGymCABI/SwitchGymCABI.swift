#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SwitchGymCore
import SwitchGymData
import SwitchGymEnvs

// The C ABI of the Swift envs (`libSwitchGymC`), for the Python binding (python/switchgym)
// and any other foreign caller. Documented in switchgym_c.h next to this file; the rules:
// - every function validates its arguments (null pointers, sizes, action ranges) and reports
//   a failure as a return value plus a message in the caller's `err` buffer: nothing traps
//   across the boundary for a bad argument;
// - the env writes into buffers the caller owns (bound once with `sg_env_bind`), and
//   `sg_env_step` allocates nothing;
// - a handle is not thread-safe: one thread at a time per handle.

/// The version of this ABI; bumped on any incompatible change of a signature or of the
/// spaces JSON.
public let switchGymCABIVersion: Int32 = 1

/// Most sub-envs one handle may hold (a guard against absurd sizes, which would otherwise
/// fail inside the allocator).
public let switchGymCABIMaxEnvs: Int64 = 1 << 20

/// What a handle points to: the vector env, its buffers once bound, and its spaces as JSON
/// (``EnvSpaces``).
public final class CABIEnv {
    let env: AnyVectorEnv
    let spacesJSON: UnsafeMutablePointer<CChar>
    var buffers: VectorBuffers?

    init(env: AnyVectorEnv, spec: EnvSpec) {
        self.env = env
        self.spacesJSON = strdup(Self.describe(env, spec))!
    }

    deinit { free(spacesJSON) }

    static func describe(_ env: AnyVectorEnv, _ spec: EnvSpec) -> String { EnvSpaces(env, spec: spec).json() }
}

// MARK: - Errors

/// Copies `message` into `err` (NUL-terminated, truncated to `errLength - 1` bytes); returns -1.
@discardableResult
func fail(_ message: String, _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int64) -> Int32 {
    guard let err, errLength > 0 else { return -1 }
    var bytes = Array(message.utf8)
    if bytes.count > Int(errLength) - 1 {
        bytes.removeLast(bytes.count - (Int(errLength) - 1))
        // Do not end inside a UTF-8 sequence.
        while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
        if let last = bytes.last, last & 0xC0 == 0xC0 { bytes.removeLast() }
    }
    for (i, b) in bytes.enumerated() { err[i] = CChar(bitPattern: b) }
    err[bytes.count] = 0
    return -1
}

func describe(_ error: any Error) -> String {
    if let e = error as? EnvError { return e.message }
    return "\(error)"
}

@inline(__always)
func handle(_ h: UnsafeMutableRawPointer?) -> CABIEnv? {
    guard let h else { return nil }
    return Unmanaged<CABIEnv>.fromOpaque(h).takeUnretainedValue()
}

func string(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }

// MARK: - Functions

/// `int32_t sg_abi_version(void)`.
@_cdecl("sg_abi_version")
public func sg_abi_version() -> Int32 { switchGymCABIVersion }

nonisolated(unsafe) private let registeredIDs: UnsafeMutablePointer<CChar> =
    strdup(String(decoding: try! JSONEncoder().encode(EnvRegistry.ids), as: UTF8.self))!

/// `const char *sg_registered_ids(void)`: the registered ids as a JSON list (static storage).
@_cdecl("sg_registered_ids")
public func sg_registered_ids() -> UnsafePointer<CChar> { UnsafePointer(registeredIDs) }

/// `void *sg_env_create(const char *id_or_spec, const char *trace, int64_t num_envs,
///  const char *autoreset, int32_t training, char *err, int64_t err_len)`.
@_cdecl("sg_env_create")
public func sg_env_create(_ idOrSpec: UnsafePointer<CChar>?, _ trace: UnsafePointer<CChar>?, _ numEnvs: Int64,
                          _ autoreset: UnsafePointer<CChar>?, _ training: Int32,
                          _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int64) -> UnsafeMutableRawPointer? {
    guard let name = string(idOrSpec), !name.isEmpty else {
        fail("sg_env_create: id_or_spec is null or empty. - help: pass a registered id (\(EnvRegistry.ids.joined(separator: ", "))) or a scenario spec path (envs/*.toml).", err, errLength)
        return nil
    }
    guard numEnvs > 0 && numEnvs <= switchGymCABIMaxEnvs else {
        fail("sg_env_create: num_envs must be in 1...\(switchGymCABIMaxEnvs), got \(numEnvs).", err, errLength)
        return nil
    }
    var mode = AutoresetMode.nextStep
    if let text = string(autoreset), !text.isEmpty {
        guard let m = AutoresetMode(rawValue: text) else {
            fail("sg_env_create: unknown autoreset mode '\(text)'. - help: one of \(AutoresetMode.allCases.map(\.rawValue).joined(separator: ", ")).", err, errLength)
            return nil
        }
        mode = m
    }
    let tracePath = string(trace).flatMap { $0.isEmpty ? nil : $0 }
    do {
        let spec = try EnvResolver.spec(name, trace: tracePath, training: training != 0)
        let env = spec.makeVector(count: Int(numEnvs), autoreset: mode)
        return Unmanaged.passRetained(CABIEnv(env: env, spec: spec)).toOpaque()
    } catch {
        fail(describe(error), err, errLength)
        return nil
    }
}

/// `const char *sg_env_spaces(void *env)`: the spaces as JSON, owned by the handle (valid
/// until `sg_env_close`); NULL for a null handle.
@_cdecl("sg_env_spaces")
public func sg_env_spaces(_ h: UnsafeMutableRawPointer?) -> UnsafePointer<CChar>? {
    handle(h).map { UnsafePointer($0.spacesJSON) }
}

/// `int32_t sg_env_bind(void *env, int64_t num_envs, float *obs, int64_t obs_len, float *rewards,
///  uint8_t *terminations, uint8_t *truncations, uint8_t *masks, int64_t masks_len,
///  float *final_obs, uint8_t *has_final_obs, uint8_t *final_masks, char *err, int64_t err_len)`.
@_cdecl("sg_env_bind")
public func sg_env_bind(_ h: UnsafeMutableRawPointer?, _ numEnvs: Int64,
                        _ observations: UnsafeMutablePointer<Float>?, _ observationsLength: Int64,
                        _ rewards: UnsafeMutablePointer<Float>?,
                        _ terminations: UnsafeMutablePointer<UInt8>?, _ truncations: UnsafeMutablePointer<UInt8>?,
                        _ masks: UnsafeMutablePointer<UInt8>?, _ masksLength: Int64,
                        _ finalObservations: UnsafeMutablePointer<Float>?, _ hasFinalObservation: UnsafeMutablePointer<UInt8>?,
                        _ finalMasks: UnsafeMutablePointer<UInt8>?,
                        _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int64) -> Int32 {
    guard let env = handle(h) else { return fail("sg_env_bind: the env handle is null.", err, errLength) }
    let n = env.env.count, dim = env.env.observationDimension, width = env.env.actionLayout.maskWidth
    guard numEnvs == Int64(n), observationsLength == Int64(n * dim), masksLength == Int64(n * width) else {
        return fail("sg_env_bind: sizes \(numEnvs) envs, \(observationsLength) observation floats, \(masksLength) mask entries; "
                    + "expected \(n), \(n * dim) (\(n) × \(dim)) and \(n * width) (\(n) × \(width)).", err, errLength)
    }
    guard let observations, let rewards, let terminations, let truncations, let masks,
          let finalObservations, let hasFinalObservation, let finalMasks else {
        let names = [("obs", observations == nil), ("rewards", rewards == nil), ("terminations", terminations == nil),
                     ("truncations", truncations == nil), ("masks", masks == nil), ("final_obs", finalObservations == nil),
                     ("has_final_obs", hasFinalObservation == nil), ("final_masks", finalMasks == nil)]
        return fail("sg_env_bind: null buffer(s): \(names.filter(\.1).map(\.0).joined(separator: ", ")).", err, errLength)
    }
    func flags(_ p: UnsafeMutablePointer<UInt8>, _ count: Int) -> UnsafeMutablePointer<Bool> {
        UnsafeMutableRawPointer(p).bindMemory(to: Bool.self, capacity: count)
    }
    env.buffers = VectorBuffers(
        count: n, observationDimension: dim, actionLayout: env.env.actionLayout,
        borrowing: .init(observations: observations, rewards: rewards,
                         terminations: flags(terminations, n), truncations: flags(truncations, n),
                         actionMasks: flags(masks, n * width), finalObservations: finalObservations,
                         hasFinalObservation: flags(hasFinalObservation, n), finalActionMasks: flags(finalMasks, n * width)))
    return 0
}

@inline(__always)
func bound(_ h: UnsafeMutableRawPointer?, _ function: String,
           _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int64) -> (CABIEnv, VectorBuffers)? {
    guard let env = handle(h) else { fail("\(function): the env handle is null.", err, errLength); return nil }
    guard let buffers = env.buffers else {
        fail("\(function): no buffers bound. - help: call sg_env_bind first.", err, errLength)
        return nil
    }
    return (env, buffers)
}

/// `int32_t sg_env_reset(void *env, int32_t has_seed, uint64_t seed, char *err, int64_t err_len)`:
/// resets every sub-env (sub-env `i` with `seed + i` when `has_seed`).
@_cdecl("sg_env_reset")
public func sg_env_reset(_ h: UnsafeMutableRawPointer?, _ hasSeed: Int32, _ seed: UInt64,
                         _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int64) -> Int32 {
    guard let (env, buffers) = bound(h, "sg_env_reset", err, errLength) else { return -1 }
    do {
        try env.env.reset(seed: hasSeed != 0 ? seed : nil, into: buffers)
        return 0
    } catch {
        return fail(describe(error), err, errLength)
    }
}

/// `int32_t sg_env_reset_mask(void *env, const uint8_t *mask, int64_t mask_len, int32_t has_seed,
///  uint64_t seed, char *err, int64_t err_len)`: resets the sub-envs where `mask[i] != 0`
/// (autoreset "disabled"); the first reset must reset them all.
@_cdecl("sg_env_reset_mask")
public func sg_env_reset_mask(_ h: UnsafeMutableRawPointer?, _ mask: UnsafePointer<UInt8>?, _ maskLength: Int64,
                              _ hasSeed: Int32, _ seed: UInt64,
                              _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int64) -> Int32 {
    guard let (env, buffers) = bound(h, "sg_env_reset_mask", err, errLength) else { return -1 }
    guard let mask, maskLength == Int64(env.env.count) else {
        return fail("sg_env_reset_mask: expected a mask of \(env.env.count) entries, got \(mask == nil ? "null" : "\(maskLength)").",
                    err, errLength)
    }
    do {
        let flags = (0..<env.env.count).map { mask[$0] != 0 }
        try env.env.reset(mask: flags, seed: hasSeed != 0 ? seed : nil, into: buffers)
        return 0
    } catch {
        return fail(describe(error), err, errLength)
    }
}

/// `int32_t sg_env_step(void *env, const int64_t *actions, int64_t actions_len, char *err,
///  int64_t err_len)`: steps every sub-env with its row of `action_components` choices
/// (0-based per component); nothing is stepped when a choice is out of range.
@_cdecl("sg_env_step")
public func sg_env_step(_ h: UnsafeMutableRawPointer?, _ actions: UnsafePointer<Int64>?, _ actionsLength: Int64,
                        _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int64) -> Int32 {
    guard let (env, buffers) = bound(h, "sg_env_step", err, errLength) else { return -1 }
    let expected = env.env.count * env.env.actionLayout.components
    guard let actions, actionsLength == Int64(expected) else {
        return fail("sg_env_step: expected \(env.env.count) × \(env.env.actionLayout.components) = \(expected) choices, got "
                    + (actions == nil ? "a null pointer." : "\(actionsLength)."), err, errLength)
    }
    do {
        try actions.withMemoryRebound(to: Int.self, capacity: expected) {
            try env.env.step(UnsafeBufferPointer(start: $0, count: expected), into: buffers)
        }
        return 0
    } catch {
        return fail(describe(error), err, errLength)
    }
}

/// `int32_t sg_env_set_state(void *env, int64_t index, const double *values, int64_t values_len,
///  char *err, int64_t err_len)`: overwrites sub-env `index`'s physical state after a reset
/// (CartPole: x, x_dot, theta, theta_dot) and rewrites its observation and mask rows.
@_cdecl("sg_env_set_state")
public func sg_env_set_state(_ h: UnsafeMutableRawPointer?, _ index: Int64, _ values: UnsafePointer<Double>?, _ valuesLength: Int64,
                             _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int64) -> Int32 {
    guard let (env, buffers) = bound(h, "sg_env_set_state", err, errLength) else { return -1 }
    guard valuesLength >= 0, valuesLength <= 1 << 20, values != nil || valuesLength == 0 else {
        return fail("sg_env_set_state: bad values (\(values == nil ? "null" : "non-null") pointer, length \(valuesLength)).", err, errLength)
    }
    guard index >= 0 && index < Int64(env.env.count) else {
        return fail("sg_env_set_state: sub-env \(index) is not in 0..<\(env.env.count).", err, errLength)
    }
    do {
        let state = valuesLength == 0 ? [] : Array(UnsafeBufferPointer(start: values!, count: Int(valuesLength)))
        try env.env.setState(Int(index), state, into: buffers)
        return 0
    } catch {
        return fail(describe(error), err, errLength)
    }
}

/// `int32_t sg_env_set_parallelism(void *env, int64_t chunks, char *err, int64_t err_len)`:
/// steps the sub-envs in `chunks` concurrent chunks (1: serially, allocation-free).
@_cdecl("sg_env_set_parallelism")
public func sg_env_set_parallelism(_ h: UnsafeMutableRawPointer?, _ chunks: Int64,
                                   _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int64) -> Int32 {
    guard let env = handle(h) else { return fail("sg_env_set_parallelism: the env handle is null.", err, errLength) }
    guard chunks >= 1 && chunks <= 4096 else {
        return fail("sg_env_set_parallelism: chunks must be in 1...4096, got \(chunks).", err, errLength)
    }
    env.env.setParallelism(Int(chunks))
    return 0
}

/// `void sg_env_close(void *env)`: closes the env and frees the handle (NULL is ignored). The
/// bound buffers stay the caller's. The handle must not be used afterwards.
@_cdecl("sg_env_close")
public func sg_env_close(_ h: UnsafeMutableRawPointer?) {
    guard let h else { return }
    let env = Unmanaged<CABIEnv>.fromOpaque(h)
    env.takeUnretainedValue().env.close()
    env.release()
}
