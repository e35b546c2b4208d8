"""Which transport a request must use: RFC 3261 section 18.1.1's size rule.

Shared by the simulator's and the real-socket node adapters (pure functions
on sizes and bytes; no I/O).

>>> mtu_requires_tcp(1400, None)
True
>>> via_to_tcp(b"M u SIP/2.0\\r\\nv: SIP/2.0/UDP a\\r\\n\\r\\n")
b'M u SIP/2.0\\r\\nv: SIP/2.0/TCP a\\r\\n\\r\\n'
"""

from __future__ import annotations

import re

__all__ = ["mtu_requires_tcp", "via_to_tcp", "UNKNOWN_MTU_LIMIT"]

#: RFC 3261 18.1.1: without a known path MTU, requests over 1300 bytes go over TCP.
UNKNOWN_MTU_LIMIT = 1300

_VIA_UDP = re.compile(r"^(\s*SIP\s*/\s*2\.0\s*/\s*)UDP", re.IGNORECASE)


def mtu_requires_tcp(size: int, path_mtu: int | None) -> bool:
    """RFC 3261 18.1.1: must a request of ``size`` bytes go over a congestion-controlled transport?

    "If a request is within 200 bytes of the path MTU, or if it is larger
    than 1300 bytes and the path MTU is unknown, the request MUST be sent
    using an RFC 2914 congestion controlled transport protocol, such as TCP."

    >>> mtu_requires_tcp(1200, 1500), mtu_requires_tcp(1301, 1500), mtu_requires_tcp(1301, None)
    (False, True, True)
    >>> mtu_requires_tcp(1250, None), mtu_requires_tcp(9100, 9216)
    (False, True)
    """
    if path_mtu is None:
        return size > UNKNOWN_MTU_LIMIT
    return size > path_mtu - 200


def via_to_tcp(data: bytes) -> bytes:
    """Rewrite the transport of the top Via from UDP to TCP (RFC 3261 18.1.1, last sentence).

    >>> via_to_tcp(b"M u SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n\\r\\n")
    b'M u SIP/2.0\\r\\nVia: SIP/2.0/TCP a;branch=z9hG4bK1\\r\\n\\r\\n'
    """
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for i, line in enumerate(lines[1:], start=1):
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in (b"via", b"v"):
            text = value.decode("utf-8", "replace")
            lines[i] = name + b":" + _VIA_UDP.sub(r"\1TCP", text, count=1).encode("utf-8")
            break
    return b"\r\n".join(lines) + sep + body
