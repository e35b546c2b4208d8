"""Proxy core (RFC 3261 section 16): stateful and stateless, forking, CANCEL, Timer C.

>>> import random
>>> p = Proxy(ProxyConfig(host="ss2.biloxi.example.com", domain="biloxi.example.com"),
...           random.Random(0))
>>> p.config.record_route_uri
'<sip:ss2.biloxi.example.com;lr>'
"""

from simvoip.sip.proxy.context import Branch, ResponseContext, best_response
from simvoip.sip.proxy.core import Proxy, ProxyConfig, ProxyTimerKey
from simvoip.sip.proxy.routing import loop_hash, stateless_branch

__all__ = [
    "Branch", "Proxy", "ProxyConfig", "ProxyTimerKey", "ResponseContext", "best_response",
    "loop_hash", "stateless_branch",
]
