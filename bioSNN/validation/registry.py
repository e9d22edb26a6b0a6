"""The one registry of validation tests: which test judges which protocol run.

Each :class:`Entry` pairs a :class:`~bioSNN.validation.base.ValidationTest` with the
protocol spec (name, seed, ``--set``-style overrides) whose saved Results it judges.
``biosnn validate`` runs (or reuses) every distinct run once and judges all its
entries; ``biosnn validate --list`` prints this table. To validate another protocol,
add an entry here (and, for a firing regime, its population extractor in
:data:`bioSNN.validation.regimes.POPULATIONS`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..errors import BioSNNError
from .base import ValidationTest
from .brunel import BrunelAsynchronous, BrunelState
from .izhikevich import (CHRepeatedBursts, FSFastSpiking, IBBurstThenTonic, LTSAdaptation,
                         LTSLowThreshold, RSAdaptation, RZResonance, TCReboundBurst)
from .lif import LIFAnalyticISI, LIFRheobase, LIFSaturation
from .plasticity_experiments import (ISTDPCotuning, ISTDPTargetRate, SjostromFrequencyData,
                                     SjostromFrequencyPattern, STPFacilitation, STPLimitingFrequency, STPRecursion,
                                     WangTriplets, WeightDistributionShape)
from .regimes import FiringRateRegime, ISICVRegime, MembraneRegime
from .stdp import STDPBiPoo, STDPRecoversRule

__all__ = ["Entry", "ENTRIES", "entry_names", "select"]


@dataclass(frozen=True)
class Entry:
    """A validation test and the protocol run it judges.

    Attributes
    ----------
    test : ValidationTest
    protocol : str
        Name of the protocol spec (``protocols/<protocol>.toml``).
    seed : int
    overrides : mapping
        Parameter overrides applied to the spec (as ``biosnn run --set``), e.g. the
        Bi & Poo time constants for the STDP window.
    """

    test: ValidationTest
    protocol: str
    seed: int = 0
    overrides: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def name(self) -> str:
        return self.test.name

    def run_key(self) -> tuple:
        """Entries with equal keys share one protocol run."""
        return (self.protocol, self.seed, tuple(sorted(self.overrides.items())))


_BI_POO = MappingProxyType({"tau_plus": "16.8 ms", "tau_minus": "33.7 ms"})
_TRIPLET_MINIMAL = MappingProxyType({"timing": "triplet-minimal"})

ENTRIES: tuple[Entry, ...] = (
    Entry(RSAdaptation(), "izhikevich-patterns"),
    Entry(FSFastSpiking(), "izhikevich-patterns"),
    Entry(IBBurstThenTonic(), "izhikevich-patterns"),
    Entry(CHRepeatedBursts(), "izhikevich-patterns"),
    Entry(LTSAdaptation(), "izhikevich-patterns"),
    Entry(LTSLowThreshold(), "membrane-probe"),
    Entry(TCReboundBurst(), "izhikevich-patterns"),
    Entry(RZResonance(), "membrane-probe"),
    Entry(LIFAnalyticISI(), "lif-fi-curve"),
    Entry(LIFRheobase(), "lif-fi-curve"),
    Entry(LIFSaturation(), "lif-fi-curve"),
    Entry(STDPRecoversRule(), "stdp-window"),
    Entry(STDPBiPoo(), "stdp-window", overrides=_BI_POO),
    Entry(SjostromFrequencyPattern(), "sjostrom-frequency"),
    Entry(SjostromFrequencyData(), "sjostrom-frequency"),
    Entry(SjostromFrequencyPattern("sjostrom-frequency-pattern-minimal"), "sjostrom-frequency",
          overrides=_TRIPLET_MINIMAL),
    Entry(SjostromFrequencyData("sjostrom-frequency-data-minimal"), "sjostrom-frequency",
          overrides=_TRIPLET_MINIMAL),
    Entry(WangTriplets(), "wang-triplets"),
    Entry(WeightDistributionShape("additive", "bimodal"), "song2000-weights"),
    Entry(WeightDistributionShape("gutig", "unimodal"), "song2000-weights"),
    Entry(WeightDistributionShape("multiplicative", "unimodal"), "song2000-weights"),
    Entry(STPRecursion(), "markram1998-trains"),
    Entry(STPLimitingFrequency(), "markram1998-trains"),
    Entry(STPFacilitation(), "markram1998-trains"),
    Entry(ISTDPCotuning(), "vogels2011-balance"),
    Entry(ISTDPTargetRate(), "vogels2011-balance"),
    Entry(MembraneRegime("rest"), "membrane-probe"),
    Entry(MembraneRegime("tau-m"), "membrane-probe"),
    Entry(MembraneRegime("threshold"), "membrane-probe"),
    Entry(MembraneRegime("refractory"), "membrane-probe"),
    Entry(FiringRateRegime("lif-poisson-trace"), "lif-poisson-trace"),
    Entry(ISICVRegime("lif-poisson-trace"), "lif-poisson-trace"),
    Entry(FiringRateRegime("rstdp3-hidden"), "rstdp-patterns-3class"),
    Entry(ISICVRegime("rstdp3-hidden"), "rstdp-patterns-3class"),
    Entry(FiringRateRegime("rstdp10-hidden"), "rstdp-poisson-10class"),
    Entry(ISICVRegime("rstdp10-hidden"), "rstdp-poisson-10class"),
    Entry(BrunelState("AI"), "brunel2000-ai"),
    Entry(BrunelAsynchronous(), "brunel2000-ai"),
    Entry(BrunelState("SR"), "brunel2000-sr"),
    Entry(BrunelState("SI-fast"), "brunel2000-si-fast"),
    Entry(BrunelState("SI-slow"), "brunel2000-si-slow"),
)
"""Every validation test, in report order."""


def entry_names() -> list[str]:
    """Names of all registered tests, in order."""
    return [e.name for e in ENTRIES]


def select(names=None) -> list[Entry]:
    """The entries named ``names`` (all when None), in registry order.

    Raises
    ------
    BioSNNError
        For an unknown name (the message lists the valid names).
    """
    if names is None:
        return list(ENTRIES)
    unknown = [n for n in names if n not in entry_names()]
    if unknown:
        raise BioSNNError(f"unknown validation test {unknown[0]!r}; known tests: "
                          f"{', '.join(entry_names())}")
    wanted = set(names)
    return [e for e in ENTRIES if e.name in wanted]
