"""simvoip.analysis: metrics, Erlang, ladder diagrams, pcap, plots, summaries, sweeps.

Reads traces and results; never drives the protocol. ``simvoip.analysis.sweep``
is the parameter-sweep function (:func:`simvoip.analysis.sweep.sweep`).
"""

from simvoip.analysis.sweep import sweep

__all__ = ["sweep"]
