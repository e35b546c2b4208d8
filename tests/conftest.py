"""Shared test configuration: hypothesis profiles and data paths.

Profiles (RFC-style rule from the developers' brief): ``ci`` is derandomized,
bounded and deadline-free so CI can never flake; ``dev`` searches deeper for
local runs. ``CI`` set in the environment selects ``ci``; ``HYPOTHESIS_PROFILE``
overrides both. Hypothesis prints the seed and the failing example on failure
(``print_blob``), so a failure can be replayed with ``@reproduce_failure``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

DATA = Path(__file__).parent / "data"

#: The "explain" phase re-runs a failure under coverage: slow, and the shrunk
#: example plus the reproduce blob already say what failed.
PHASES = tuple(p for p in Phase if p is not Phase.explain)

settings.register_profile(
    "ci",
    phases=PHASES,
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=500,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def reference_values() -> dict[str, dict]:
    """``reference_values.json`` entries keyed by id."""
    entries = json.loads((DATA / "reference_values.json").read_text())["entries"]
    return {e["id"]: e for e in entries}
