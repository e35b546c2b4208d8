"""Interop tests against SIPp on 127.0.0.1 (marker ``interop``).

Run: ``python -m pytest -m interop tests/interop``. They skip only when ``sipp`` is
missing and ``CI`` is unset; with ``CI`` set a missing ``sipp`` fails them. Every SIPp
run is bounded in calls (``-m``), rate (``-r``) and time (``-timeout``, ``-recv_timeout``,
and a hard asyncio bound). Scenarios live in ``scenarios/``.
"""
