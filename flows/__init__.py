"""Prefect flows that wire the stages together, their typed configs and the CLI."""

import os as _os

# PyTorch's OpenMP threads spin while they wait. When another process shares the cores (a
# second flow on the worker, a test run, a browser) that spinning starves the thread being
# waited for: measured here, an LSTM step took 3.8 s instead of 0.3 s. Passive waiting avoids
# it at no measurable cost. Only effective before torch is first imported; users may override.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
