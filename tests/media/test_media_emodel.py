"""ITU-T G.107 E-model against every emodel.* entry of reference_values.json."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip.media.codecs import codec_by_name
from simvoip.media.emodel import EModel, idd, ie_eff, mos_from_r
from simvoip.media.loss import GilbertElliott


def test_default_r_and_components(reference_values):
    entry = reference_values["emodel.default_R"]
    tol = entry["tolerance"]
    exp = entry["expected"]
    m = EModel()
    assert m.r == pytest.approx(exp["R"], abs=tol)
    assert m.ro == pytest.approx(exp["Ro"], abs=tol)
    assert m.is_ == pytest.approx(exp["Is"], abs=tol)
    assert m.id == pytest.approx(exp["Id"], abs=tol)
    assert m.idle == pytest.approx(exp["Idle"], abs=tol)
    assert m.ie_eff == pytest.approx(exp["Ie_eff"], abs=tol)
    assert m.no == pytest.approx(exp["No"], abs=tol)
    assert m.idte == 0.0 and m.idd == 0.0


def test_public_api_example_from_architecture():
    r = EModel(ie=0.0, bpl=25.1, ppl=2.0, burst_r=1.0, ta=0.0).r
    assert r == pytest.approx(86.195, abs=1e-3)
    assert mos_from_r(93.2) == pytest.approx(4.409, abs=1e-3)


def test_mos_pairs(reference_values):
    entry = reference_values["emodel.mos_from_R.pairs"]
    for r, mos in entry["expected"]["pairs_R_MOS"]:
        assert mos_from_r(r) == pytest.approx(mos, abs=entry["tolerance"]), r


def test_delay_examples(reference_values):
    entry = reference_values["emodel.delay_examples"]
    tol = entry["tolerance"]
    for row in entry["expected"]:
        ta = row["Ta_ms"]
        assert idd(ta) == pytest.approx(row["Idd"], abs=tol)
        assert EModel(ta=ta).idd == pytest.approx(row["Idd"], abs=tol)
        assert EModel(ta=ta).r == pytest.approx(row["R_only_Ta_changed"], abs=tol)
        echo = EModel(ta=ta, t=ta, tr=2 * ta)
        assert echo.r == pytest.approx(row["R_with_T_eq_Ta_and_Tr_eq_2Ta"], abs=tol), ta


def test_idd_formula_entry_boundary():
    # emodel.Idd.formula: Idd = 0 for Ta <= 100 ms, positive above.
    assert idd(100.0) == 0.0
    assert idd(100.5) > 0.0


_CODEC_ROWS = {
    "G.711 (64 kbit/s), no PLC": codec_by_name("PCMU").without_plc(),
    "G.711 (64 kbit/s) with PLC (G.711 Appendix I)": codec_by_name("PCMU"),
    "G.729A + VAD (8 kbit/s)": codec_by_name("G729"),
    "G.723.1 + VAD (6.3 kbit/s)": codec_by_name("G723"),
}


def test_codec_table_uses_g113_values(reference_values):
    for row in reference_values["emodel.codec_Ie_Bpl"]["expected"]:
        codec = _CODEC_ROWS[row["codec"]]
        assert (codec.ie, codec.bpl) == (row["Ie"], row["Bpl"])
    assert codec_by_name("PCMA").bpl == 25.1


def test_ie_eff_examples(reference_values):
    entry = reference_values["emodel.Ie_eff.examples"]
    tol = entry["tolerance"]
    for row in entry["expected"]:
        codec = _CODEC_ROWS[row["codec"]]
        m = EModel(ie=codec.ie, bpl=codec.bpl, ppl=row["Ppl"], burst_r=row["BurstR"], ta=0.0)
        assert m.ie_eff == pytest.approx(row["Ie_eff"], abs=tol)
        assert ie_eff(codec.ie, codec.bpl, row["Ppl"], row["BurstR"]) == pytest.approx(
            row["Ie_eff"], abs=tol)
        assert m.r == pytest.approx(row["R_other_defaults"], abs=tol)
        assert m.mos == pytest.approx(row["MOS"], abs=tol)


def test_burst_r_gilbert_entry(reference_values):
    entry = reference_values["emodel.BurstR.gilbert"]
    tol = entry["tolerance"]
    p, q = entry["inputs"]["p"], entry["inputs"]["q"]
    ge = GilbertElliott(p=p, r=q)
    exp = entry["expected"]
    assert ge.burst_r == pytest.approx(exp["BurstR"], abs=tol)
    assert 100 * ge.mean_loss == pytest.approx(exp["Ppl_percent"], abs=tol)
    assert ge.mean_burst_length == pytest.approx(exp["mean_burst_length_packets"], abs=tol)
    g711 = codec_by_name("PCMU")
    ie = ie_eff(g711.ie, g711.bpl, 100 * ge.mean_loss, ge.burst_r)
    assert ie == pytest.approx(exp["Ie_eff_G711_PLC"], abs=tol)


def test_r_array_matches_scalar():
    import numpy as np

    base = EModel(ie=11.0, bpl=19.0, t=20.0, tr=40.0)
    ta = np.array([0.0, 120.0, 250.0, 500.0])
    ppl = np.array([0.0, 1.0, 3.0, 10.0])
    br = np.array([1.0, 1.5, 2.0, 4.0])
    got = base.r_array(ta, ppl, br)
    want = [dataclasses.replace(base, ta=a, ppl=b, burst_r=c).r for a, b, c in zip(ta, ppl, br, strict=True)]
    assert got == pytest.approx(want, abs=1e-9)


_loss = st.floats(min_value=0.0, max_value=40.0)
_delay = st.floats(min_value=0.0, max_value=800.0)
_codec = st.sampled_from(list(_CODEC_ROWS.values()))


@given(_codec, _loss, _loss, _delay, st.floats(1.0, 8.0))
def test_mos_never_rises_with_loss(codec, ppl_a, ppl_b, ta, burst):
    low, high = sorted((ppl_a, ppl_b))
    m = EModel(ie=codec.ie, bpl=codec.bpl, burst_r=burst, ta=ta)
    r_low = dataclasses.replace(m, ppl=low).r
    r_high = dataclasses.replace(m, ppl=high).r
    assert r_high <= r_low + 1e-9
    assert mos_from_r(r_high) <= mos_from_r(r_low) + 1e-12
    if high > low + 0.01:
        assert r_high < r_low  # strictly: loss always costs something


@given(_codec, _loss, _delay, _delay)
def test_mos_never_rises_with_delay(codec, ppl, ta_a, ta_b):
    low, high = sorted((ta_a, ta_b))
    m = EModel(ie=codec.ie, bpl=codec.bpl, ppl=ppl)
    r_low, r_high = dataclasses.replace(m, ta=low).r, dataclasses.replace(m, ta=high).r
    assert r_high <= r_low + 1e-9
    assert mos_from_r(r_high) <= mos_from_r(r_low) + 1e-12
    if low >= 100.0 and high > low + 1.0:
        assert r_high < r_low  # above 100 ms every extra ms hurts


@given(st.floats(-50, 150), st.floats(-50, 150))
def test_mos_is_monotone_in_r(a, b):
    low, high = sorted((a, b))
    assert 1.0 <= mos_from_r(low) <= mos_from_r(high) <= 4.5
