"""The tools agents may be given (registry.py), how one runs (run.py) and the sandbox that runs
untrusted code (sandbox.py, _confine.py).  See README.md."""
