"""Timer durations against RFC 3261 Table 4 and RFC 6026 (reference_values.json)."""

from __future__ import annotations

import pytest

from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.transaction import Timer, TimerConfig


def test_defaults_are_table_4(reference_values: dict) -> None:
    cfg = TimerConfig()
    assert cfg.t1 == reference_values["sip.timer.T1"]["expected"]
    assert cfg.t2 == reference_values["sip.timer.T2"]["expected"]
    assert cfg.t4 == reference_values["sip.timer.T4"]["expected"]


FIXED_TIMER_IDS = [
    "sip.timer.B.any", "sip.timer.D.UDP", "sip.timer.D.reliable", "sip.timer.F.any",
    "sip.timer.H.any", "sip.timer.I.UDP", "sip.timer.I.reliable", "sip.timer.J.UDP",
    "sip.timer.J.reliable", "sip.timer.K.UDP", "sip.timer.K.reliable",
]


@pytest.mark.parametrize("ref_id", FIXED_TIMER_IDS)
def test_fixed_timers_match_reference(reference_values: dict, ref_id: str) -> None:
    entry = reference_values[ref_id]
    name, transport = ref_id.split(".")[2:]
    inputs = entry["inputs"]
    cfg = TimerConfig(t1=inputs["T1"], t2=inputs["T2"], t4=inputs["T4"])
    reliables = {"any": [False, True], "UDP": [False], "reliable": [True]}[transport]
    expected = entry["expected"]
    for reliable in reliables:
        value = cfg.duration(Timer(name), reliable=reliable)
        if "value" in expected:
            assert value == expected["value"]
        else:
            assert value >= expected["min_inclusive"]
            assert value == 32.0          # the usual choice (and 64*T1 at the default T1)


@pytest.mark.parametrize("name", ["A", "E", "G"])
def test_retransmit_timers_start_at_t1_and_do_not_exist_on_reliable(reference_values: dict, name: str) -> None:
    entry = reference_values[f"sip.timer.{name}.UDP"]
    assert TimerConfig().duration(Timer(name), reliable=False) == entry["expected"]["initial"]
    with pytest.raises(LocalProtocolError):
        TimerConfig().duration(Timer(name), reliable=True)


@pytest.mark.parametrize("name", ["L", "M"])
def test_rfc6026_timers_are_64_t1_on_every_transport(reference_values: dict, name: str) -> None:
    entry = reference_values[f"sip.timer.{name}"]
    cfg = TimerConfig(t1=entry["inputs"]["T1"])
    assert cfg.duration(Timer(name), reliable=False) == entry["expected"]["value"]
    assert cfg.duration(Timer(name), reliable=True) == entry["expected"]["value"]
    assert TimerConfig(t1=0.125).duration(Timer(name), reliable=True) == 8.0


def test_timer_c_exceeds_three_minutes(reference_values: dict) -> None:
    assert TimerConfig().duration(Timer.C, reliable=False) > reference_values["sip.timer.C.any"]["expected"]["min_exclusive"]


def test_timer_d_covers_a_slow_server_timer_h() -> None:
    # D is "at least 32 s"; with a large T1 it follows 64*T1 so it outlasts the server's H.
    assert TimerConfig(t1=1.0, t2=4.0).duration(Timer.D, reliable=False) == 64.0
    assert TimerConfig(t1=0.1).duration(Timer.D, reliable=False) == 32.0


def test_bad_configuration_is_rejected() -> None:
    with pytest.raises(LocalProtocolError):
        TimerConfig(t1=0.0)
    with pytest.raises(LocalProtocolError):
        TimerConfig(t1=5.0, t2=4.0)
