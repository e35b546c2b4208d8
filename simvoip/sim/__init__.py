"""simvoip.sim: the discrete-event world (SimPy + networkx) in which the SIP cores run.

Topology (:mod:`.topology`), links and loss models (:mod:`.link`,
:mod:`.loss`), simulated UDP/TCP (:mod:`.transport`), the node adapter
(:mod:`.node`), the trace (:mod:`.trace`) and the scenario
(:mod:`.simulation`). Import the public names from :mod:`simvoip`.
"""
