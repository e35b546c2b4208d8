"""ITU-T G.107 E-model: transmission rating R and MOS.

Full computation ``R = Ro - Is - Id - Ie_eff + A`` with

* ``Ro`` basic signal-to-noise ratio (circuit, room and receive noise),
* ``Is`` simultaneous impairments (``Iolr + Ist + Iq``),
* ``Id = Idte + Idle + Idd`` delay impairments (talker echo, listener echo,
  absolute delay),
* ``Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)`` equipment
  impairment with packet loss,

following the formulas of G.107 clause 7 (2015 edition, delay sensitivity
defaults mT = 100 ms, sT = 1, which give the classic Idd). Not modelled: the
STMR > 20 dB talker-echo/sidetone combination ``Idtes`` of newer editions
(default STMR is 15 dB).

Parameter names are G.107's, in lower case; delays in ms, Ppl in percent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["EModel", "idd", "ie_eff", "mos_from_r", "mos_from_r_array"]

FloatArray = npt.NDArray[np.float64]


def idd(ta: float) -> float:
    """Absolute-delay impairment Idd for one-way delay ``ta`` in ms (G.107 7.2.3).

    >>> idd(100.0), round(idd(200.0), 3), round(idd(400.0), 3)
    (0.0, 3.044, 24.07)
    """
    if ta <= 100.0:
        return 0.0
    x = math.log10(ta / 100.0) / math.log10(2.0)
    return 25.0 * ((1 + x**6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2)


def _idd_array(ta: FloatArray) -> FloatArray:
    x = np.log10(np.maximum(ta, 100.0) / 100.0) / math.log10(2.0)
    out = 25.0 * ((1 + x**6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2)
    return np.where(ta <= 100.0, 0.0, out)


def ie_eff(ie: float, bpl: float, ppl: float, burst_r: float = 1.0) -> float:
    """Effective equipment impairment (G.107 7.4); ``ppl`` in percent.

    >>> round(ie_eff(0.0, 25.1, 2.0, 1.0), 3), round(ie_eff(11.0, 19.0, 2.0), 3)
    (7.011, 19.0)
    """
    return ie + (95.0 - ie) * ppl / (ppl / burst_r + bpl)


def mos_from_r(r: float) -> float:
    """Estimated MOS (conversational quality) from R (G.107 Annex B).

    >>> mos_from_r(93.2), mos_from_r(0), mos_from_r(120)
    (4.409..., 1.0, 4.5)
    """
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    # The cubic dips below 1 for 0 < R < ~6.5 (minimum ~0.99 near R = 3.3);
    # clamping at 1 keeps MOS monotone in R, as later G.107 editions do.
    return max(1.0, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6)


def mos_from_r_array(r: FloatArray) -> FloatArray:
    """Vectorised :func:`mos_from_r`."""
    r = np.asarray(r, dtype=float)
    mos = np.maximum(1.0, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6)
    return np.where(r <= 0, 1.0, np.where(r >= 100, 4.5, mos))


@dataclass(frozen=True, slots=True)
class EModel:
    """G.107 input parameters, defaults from G.107 Table 1.

    Parameters
    ----------
    ie, bpl : float
        Equipment impairment factor and packet-loss robustness factor of the
        codec (G.113 Appendix I).
    ppl : float
        Random packet-loss probability in percent.
    burst_r : float
        Burst ratio (1 = random loss, > 1 bursty).
    ta : float
        Mean one-way (mouth-to-ear) delay in ms.
    t : float
        Mean one-way delay of the echo path in ms.
    tr : float
        Round-trip delay in a 4-wire loop in ms.
    slr, rlr : float
        Send / receive loudness ratings (dB).
    stmr, lstr : float
        Sidetone masking rating and listener sidetone rating (dB).
    ds, dr : float
        D-values of telephone send / receive side.
    telr : float
        Talker echo loudness rating (dB).
    wepl : float
        Weighted echo path loss (dB).
    qdu : float
        Number of quantisation distortion units.
    nc : float
        Circuit noise referred to the 0 dBr point (dBm0p).
    nfor : float
        Noise floor at the receive side (dBmp).
    ps, pr : float
        Room noise at send / receive side (dB(A)).
    a : float
        Advantage factor.

    Examples
    --------
    >>> round(EModel().r, 3)
    93.206
    >>> round(EModel(ie=0.0, bpl=25.1, ppl=2.0, burst_r=1.0, ta=0.0).r, 3)
    86.195
    >>> round(EModel(ta=300.0).r, 3)
    78.446
    """

    ie: float = 0.0
    bpl: float = 1.0
    ppl: float = 0.0
    burst_r: float = 1.0
    ta: float = 0.0
    t: float = 0.0
    tr: float = 0.0
    slr: float = 8.0
    rlr: float = 2.0
    stmr: float = 15.0
    lstr: float = 18.0
    ds: float = 3.0
    dr: float = 3.0
    telr: float = 65.0
    wepl: float = 110.0
    qdu: float = 1.0
    nc: float = -70.0
    nfor: float = -64.0
    ps: float = 35.0
    pr: float = 35.0
    a: float = 0.0

    # --- Ro: basic signal-to-noise ratio (G.107 7.1) ---
    @property
    def olr(self) -> float:
        """Overall loudness rating OLR = SLR + RLR."""
        return self.slr + self.rlr

    @property
    def no(self) -> float:
        """Total noise power No (dBm0p), power sum of Nc, Nos, Nor, Nfo."""
        nos = self.ps - self.slr - self.ds - 100 + 0.004 * (self.ps - self.olr - self.ds - 14) ** 2
        pre = self.pr + 10 * math.log10(1 + 10 ** ((10 - self.lstr) / 10))
        nor = self.rlr - 121 + pre + 0.008 * (pre - 35) ** 2
        nfo = self.nfor + self.rlr
        return 10 * math.log10(
            10 ** (self.nc / 10) + 10 ** (nos / 10) + 10 ** (nor / 10) + 10 ** (nfo / 10)
        )

    @property
    def ro(self) -> float:
        """Ro = 15 - 1.5 (SLR + No)."""
        return 15 - 1.5 * (self.slr + self.no)

    # --- Is: simultaneous impairments (G.107 7.2) ---
    @property
    def stmr_o(self) -> float:
        """STMRo: sidetone masking rating including talker echo."""
        return -10 * math.log10(
            10 ** (-self.stmr / 10) + math.exp(-self.t / 4) * 10 ** (-self.telr / 10)
        )

    @property
    def iolr(self) -> float:
        """Impairment from too-low overall loudness."""
        xolr = self.olr + 0.2 * (64 + self.no - self.rlr)
        return 20 * ((1 + (xolr / 8) ** 8) ** (1 / 8) - xolr / 8)

    @property
    def ist(self) -> float:
        """Impairment from non-optimum sidetone."""
        s = self.stmr_o
        return (12 * (1 + ((s - 13) / 6) ** 8) ** (1 / 8)
                - 28 * (1 + ((s + 1) / 19.4) ** 35) ** (1 / 35)
                - 13 * (1 + ((s - 3) / 33) ** 13) ** (1 / 13) + 29)

    @property
    def iq(self) -> float:
        """Impairment from quantising distortion."""
        q = 37 - 15 * math.log10(self.qdu)
        g = 1.07 + 0.258 * q + 0.0602 * q**2
        y = (self.ro - 100) / 15 + 46 / 8.4 - g / 9
        z = 46 / 30 - g / 40
        return 15 * math.log10(1 + 10**y + 10**z)

    @property
    def is_(self) -> float:
        """Is = Iolr + Ist + Iq (``is`` is a Python keyword)."""
        return self.iolr + self.ist + self.iq

    # --- Id: delay impairments (G.107 7.3) ---
    @property
    def idte(self) -> float:
        """Talker-echo impairment."""
        if self.t < 1.0:
            return 0.0  # G.107: for T < 1 ms talker echo is sidetone
        terv = (self.telr - 40 * math.log10((1 + self.t / 10) / (1 + self.t / 150))
                + 6 * math.exp(-0.3 * self.t**2))
        if self.stmr < 9:
            terv += self.ist / 2  # G.107: TERVs for low sidetone
        roe = -1.5 * (self.no - self.rlr)
        re = 80 + 2.5 * (terv - 14)
        return ((roe - re) / 2 + math.sqrt((roe - re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-self.t))

    @property
    def idle(self) -> float:
        """Listener-echo impairment."""
        rle = 10.5 * (self.wepl + 7) * (self.tr + 1) ** -0.25
        return (self.ro - rle) / 2 + math.sqrt((self.ro - rle) ** 2 / 4 + 169)

    @property
    def idd(self) -> float:
        """Absolute-delay impairment."""
        return idd(self.ta)

    @property
    def id(self) -> float:
        """Id = Idte + Idle + Idd."""
        return self.idte + self.idle + self.idd

    # --- Ie_eff and R ---
    @property
    def ie_eff(self) -> float:
        """Effective equipment impairment factor."""
        return ie_eff(self.ie, self.bpl, self.ppl, self.burst_r)

    @property
    def r(self) -> float:
        """Transmission rating R = Ro - Is - Id - Ie_eff + A."""
        return self.ro - self.is_ - self.id - self.ie_eff + self.a

    @property
    def mos(self) -> float:
        """MOS of :attr:`r` (G.107 Annex B)."""
        return mos_from_r(self.r)

    def r_array(self, ta: FloatArray, ppl: FloatArray, burst_r: FloatArray) -> FloatArray:
        """R for arrays of (ta, ppl, burst_r), every other parameter from ``self``.

        Used by the vectorised fast path; equals ``replace(self, ta=.., ppl=.., burst_r=..).r``.

        >>> m = EModel(ie=0.0, bpl=25.1)
        >>> np.round(m.r_array(np.array([0.0, 300.0]), np.array([2.0, 0.0]), np.ones(2)), 3)
        array([86.195, 78.446])
        """
        ta = np.asarray(ta, dtype=float)
        ppl = np.asarray(ppl, dtype=float)
        burst_r = np.asarray(burst_r, dtype=float)
        base = self.ro - self.is_ - self.idte - self.idle + self.a
        loss = self.ie + (95.0 - self.ie) * ppl / (ppl / burst_r + self.bpl)
        return base - _idd_array(ta) - loss
