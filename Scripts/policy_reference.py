#!/usr/bin/env python3
"""The numpy reference reader of SwitchGym policy files: a shim over python/switchgym/policy.py
(where it lives now, as `switchgym.policy`), kept for the cross-runtime checks and their users.

    import policy_reference as pr
    policy = pr.load("policy.safetensors")
    actions = pr.act(policy, obs, mask)

The module file is loaded directly, so this works without gymnasium or the native library.
"""
import importlib.util
import os
import sys

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python", "switchgym", "policy.py")
_spec = importlib.util.spec_from_file_location("switchgym_policy_reference", _PATH)
_module = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _module
_spec.loader.exec_module(_module)
globals().update({k: v for k, v in vars(_module).items() if not (k.startswith("__") and k.endswith("__"))})

if __name__ == "__main__":
    p = load(sys.argv[1])  # noqa: F821 (from the module)
    print(f"{sys.argv[1]}: {p.kind}, sizes {p.sizes}, components {len(p.components)}, self-test passed")
