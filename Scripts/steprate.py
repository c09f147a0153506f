"""Steps per second of a stepping function: the timing loop and the CartPole steppers of
Scripts/bench_peers.py and Scripts/check_python_binding.py (imported by both; Scripts/ is on
their sys.path)."""
import time


def rate(step, seconds, warmup=0, batch=64):
    """Steps per second of `step()` (which returns the env steps it made) over about `seconds`,
    after `warmup` untimed calls; the clock is read every `batch` calls."""
    for _ in range(warmup):
        step()
    done, t0 = 0, time.perf_counter()
    while True:
        for _ in range(batch):
            done += step()
        t = time.perf_counter() - t0
        if t >= seconds:
            return done / t


def single_stepper(env, actions):
    """A `step()` for `rate`: one `env.step` per call over the cycle of 4096 precomputed `actions`
    (column 0 of the vector actions), resetting at each episode's end."""
    env.reset(seed=0)
    cycle = actions[:, 0].tolist()
    k = 0

    def step():
        nonlocal k
        k = (k + 1) & 4095
        _, _, term, trunc, _ = env.step(cycle[k])
        if term or trunc:
            env.reset()
        return 1
    return step


def vector_stepper(envs, actions):
    """A `step()` for `rate`: one vector step of `envs` per call over the 4096 rows of `actions`
    (autoreset is the vector env's); it counts one env step per sub-env."""
    envs.reset(seed=0)
    n = actions.shape[1]
    k = 0

    def step():
        nonlocal k
        k = (k + 1) & 4095
        envs.step(actions[k])
        return n
    return step
