"""simvoip: a discrete-event test harness for VoIP.

The simulator names (:class:`Simulation`, :class:`Topology`,
:func:`load_topology`) are imported lazily so that ``import simvoip.sip`` stays
light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Simulation", "Topology", "load_topology", "__version__"]

_LAZY = {
    "Simulation": "simvoip.sim.simulation",
    "Topology": "simvoip.sim.topology",
    "load_topology": "simvoip.sim.topology",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simvoip' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
