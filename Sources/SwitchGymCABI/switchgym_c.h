/*
 * switchgym_c.h: the C ABI of SwitchGym's envs (library libSwitchGymC, built with
 *     swift build -c release --product SwitchGymC
 * into .build/release/libSwitchGymC.so, or .dylib on macOS). The Python binding
 * (python/switchgym) loads it with ctypes; this header documents the same functions for any
 * other caller. ABI version 1 (sg_abi_version()).
 *
 * Conventions
 *   - Functions that can fail return 0 on success and -1 on failure, and write a
 *     NUL-terminated UTF-8 message to `err` (at most err_len bytes; err may be NULL).
 *     Every argument is validated (null pointers, sizes, action ranges, unknown ids): a bad
 *     argument is an error message, never a crash. sg_env_create returns NULL on failure.
 *   - An env handle is a vector env of num_envs sub-envs (use 1 for a single env). It writes
 *     into buffers the CALLER owns, bound once with sg_env_bind; they must stay valid until
 *     sg_env_close. sg_env_step allocates no memory (with parallelism 1, the default).
 *   - Row i of every buffer belongs to sub-env i. Flags are bytes 0/1 (Python: numpy bool).
 *   - Actions are choice rows of int64: action_components choices per sub-env, choice c in
 *     0 .. nvec[c]-1 (a Discrete(n, start) action a is the choice a - start).
 *   - Autoreset modes (Gymnasium >= 1.0 semantics): "next-step" (default: the step after an
 *     episode ends resets that sub-env, ignores its action, and reports reward 0 and no flags),
 *     "same-step" (the ending step resets at once; the final observation and mask are in
 *     final_obs / final_masks where has_final_obs), "disabled" (call sg_env_reset_mask).
 *   - Seeds: a reset with a seed resets sub-env i with seed + i; without, each sub-env
 *     continues its own stream (sub-env i is created with seed i).
 *   - A handle is not thread-safe: call it from one thread at a time.
 */
#ifndef SWITCHGYM_C_H
#define SWITCHGYM_C_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version (1). */
int32_t sg_abi_version(void);

/* The registered env ids as a JSON list, e.g. ["CartPole-v1", ...] (static storage). */
const char *sg_registered_ids(void);

/* Creates a vector env of num_envs (1 ... 2^20) sub-envs.
 *   id_or_spec: a registered id ("CartPole-v1") or a scenario spec path ("envs/vision-zoo.toml",
 *               relative paths, also those inside the spec, resolve against the current directory);
 *   trace:      NULL, or a trace dataset (.h5) that a scenario replays instead of its own;
 *   autoreset:  NULL (= "next-step"), "next-step", "same-step" or "disabled";
 *   training:   non-zero scales a scenario's rewards to about 1 per interval (as `switchgym train`).
 * Returns NULL on failure (message in err). */
void *sg_env_create(const char *id_or_spec, const char *trace, int64_t num_envs,
                    const char *autoreset, int32_t training, char *err, int64_t err_len);

/* The spaces and sizes as JSON, owned by the handle (valid until sg_env_close):
 *   {"abi": 1, "id": ..., "summary": ..., "num_envs": N, "autoreset": "next-step",
 *    "max_episode_steps": 500 | null,
 *    "observation": {"dtype": "float32", "shape": [...], "low": [...], "high": [...]},
 *    "action": {"kind": "Discrete", "n": 2, "start": 0, "nvec": [2], "offsets": [0]}
 *            | {"kind": "MultiDiscrete", "start": 0, "nvec": [...], "offsets": [...]},
 *    "action_components": K, "mask_width": W}
 * Strict JSON: an unbounded limit is null (in "low": -infinity, in "high": +infinity); the
 * finite limits are float32 values in their shortest round-trip form.
 * NULL for a NULL handle. */
const char *sg_env_spaces(void *env);

/* Binds the caller's buffers (sizes: N = num_envs, D = observation floats, W = mask_width):
 *   obs[N*D] (obs_len = N*D), rewards[N], terminations[N], truncations[N],
 *   masks[N*W] (masks_len = N*W; row i: which choices are allowed next, per component),
 *   final_obs[N*D], has_final_obs[N], final_masks[N*W] (written in "same-step" mode only).
 * All must be non-NULL. They are initialised here (zeros; masks all 1). Binding again
 * replaces the previous buffers. */
int32_t sg_env_bind(void *env, int64_t num_envs, float *obs, int64_t obs_len, float *rewards,
                    uint8_t *terminations, uint8_t *truncations, uint8_t *masks, int64_t masks_len,
                    float *final_obs, uint8_t *has_final_obs, uint8_t *final_masks,
                    char *err, int64_t err_len);

/* Resets every sub-env (sub-env i with seed + i when has_seed != 0). Writes obs and masks,
 * zeroes rewards and flags. */
int32_t sg_env_reset(void *env, int32_t has_seed, uint64_t seed, char *err, int64_t err_len);

/* Resets the sub-envs where mask[i] != 0 (mask_len = N), leaving the other rows untouched;
 * for autoreset "disabled". The first reset must reset every sub-env. */
int32_t sg_env_reset_mask(void *env, const uint8_t *mask, int64_t mask_len, int32_t has_seed,
                          uint64_t seed, char *err, int64_t err_len);

/* Steps every sub-env with its choice row: actions[N*K] (actions_len = N*K). If any choice is
 * out of range, nothing is stepped and the message names the sub-env and component. Errors
 * also before the first reset. Writes obs, rewards, flags, masks (and final_* in same-step). */
int32_t sg_env_step(void *env, const int64_t *actions, int64_t actions_len, char *err, int64_t err_len);

/* Overwrites sub-env `index`'s physical state after a reset (CartPole-v1: x, x_dot, theta,
 * theta_dot, as Gymnasium's env.unwrapped.state) and rewrites its obs and mask rows. Envs
 * without this ability return an error. */
int32_t sg_env_set_state(void *env, int64_t index, const double *values, int64_t values_len,
                         char *err, int64_t err_len);

/* Steps the sub-envs in `chunks` (1 ... 4096) concurrent chunks; 1 (default) steps serially
 * without allocating. Worth it only when a sub-env step is expensive (large fleets). */
int32_t sg_env_set_parallelism(void *env, int64_t chunks, char *err, int64_t err_len);

/* Closes the env and frees the handle (NULL is ignored); the buffers stay the caller's. */
void sg_env_close(void *env);

#ifdef __cplusplus
}
#endif

#endif /* SWITCHGYM_C_H */
