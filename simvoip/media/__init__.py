"""simvoip.media: RTP, RTCP, codecs, jitter buffers, loss models and the G.107 E-model.

Sans-I/O (standard library + NumPy): no clock, no global randomness; times
come in as arguments and randomness as an injected ``random.Random`` or
``numpy.random.Generator``. Modules:

- :mod:`~simvoip.media.codecs` codec table and bandwidth
- :mod:`~simvoip.media.rtp` RTP packets and sender; :mod:`~simvoip.media.telephone_event` DTMF
- :mod:`~simvoip.media.statistics` receiver statistics; :mod:`~simvoip.media.rtcp` SR/RR
- :mod:`~simvoip.media.jitter_buffer` fixed and adaptive playout buffers
- :mod:`~simvoip.media.loss` Gilbert-Elliott loss and BurstR
- :mod:`~simvoip.media.emodel` ITU-T G.107; :mod:`~simvoip.media.quality` per-call report
- :mod:`~simvoip.media.fastpath` vectorised statistics for many calls
"""
