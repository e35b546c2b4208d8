"""simvoip.net: the unchanged sans-I/O cores on real UDP/TCP sockets (asyncio).

:class:`SipTransport` owns the sockets, :class:`NetNode` drives one core
(``receive`` / ``handle_timer``) with ``now = loop.time()`` and asyncio timers,
:func:`start_user_agent` / :func:`start_proxy` build ready-made elements, and
:mod:`simvoip.net.cli_commands` holds ``simvoip serve`` / ``simvoip call``.

>>> from simvoip.net import NetNode, SipTransport
>>> NetNode().role
'uas'
"""

from simvoip.net.node import NetNode, WireRecord
from simvoip.net.roles import start_proxy, start_user_agent
from simvoip.net.transport import SipTransport

__all__ = ["NetNode", "SipTransport", "WireRecord", "start_proxy", "start_user_agent"]
