"""Steps per second of a stepping function: the timing loop of Scripts/bench_peers.py and
Scripts/check_python_binding.py (imported by both; Scripts/ is on their sys.path)."""
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
