r"""The validation pattern: observation, prediction, score, verdict.

In the manner of sciunit (Omar et al. 2014, *Collaborative infrastructure for test-driven
scientific model validation*, ICSE Companion 524-527), but with real abstract methods:

* an :class:`Observation` is what biology (or a closed-form solution) says: a value or
  a range, its spread and units, and the citation it comes from;
* a :class:`ValidationTest` holds one observation, turns a protocol's saved
  :class:`~bioSNN.results.Results` into a :class:`Prediction`
  (:meth:`~ValidationTest.generate_prediction`, a pure function of the saved files) and
  compares the two in a :class:`Score` (:meth:`~ValidationTest.compute_score`) whose
  pass rule is part of the test;
* :meth:`ValidationTest.judge` chains both and returns a :class:`Verdict`: ``pass``, or,
  when the rule is not met, the test's ``severity``: ``fail`` for properties the model
  must have, ``warn`` for regimes a model may legitimately leave (e.g. firing rates of
  trained networks).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Observation", "Prediction", "Score", "Verdict", "ValidationTest", "PASS", "WARN",
           "FAIL", "fmt"]

PASS, WARN, FAIL = "pass", "warn", "fail"


def fmt(x: Any, digits: int = 3) -> str:
    """Short text of a number (``None``/NaN as ``n/a``)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, (int,)):
        return str(x)
    return f"{float(x):.{digits}g}"


@dataclass(frozen=True)
class Observation:
    """What the model is compared against.

    Attributes
    ----------
    description : str
        The property in words, with the pass rule (shown in the report's table).
    citation : str
        Where the observation comes from (author, year, journal, volume:pages).
    value : float, optional
        A single reference value ...
    low, high : float, optional
        ... or a range ``[low, high]``.
    spread : float, optional
        Standard deviation or tolerance around ``value`` (same units).
    units : str
        Units of value / range / spread (``"1"`` for plain numbers).
    """

    description: str
    citation: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    spread: float | None = None
    units: str = "1"

    def text(self) -> str:
        """The observation as one short line for a table."""
        unit = "" if self.units in ("1", "") else f" {self.units}"
        parts = [self.description]
        if self.value is not None:
            pm = f" ± {fmt(self.spread)}" if self.spread is not None else ""
            parts.append(f"({fmt(self.value)}{pm}{unit})")
        elif self.low is not None and self.high is not None:
            parts.append(f"({fmt(self.low)} to {fmt(self.high)}{unit})")
        return " ".join(parts)


@dataclass(frozen=True)
class Prediction:
    """What the model produced, extracted from saved Results.

    Attributes
    ----------
    value : float or None
        The headline number (``None`` when the model did not produce the feature).
    units : str
    text : str
        Short description for the table (e.g. ``"ISI ratio 2.31 (19.5 -> 45.1 ms)"``).
    details : dict
        Every intermediate number (written to ``verdicts.json``).
    """

    value: float | None
    units: str = "1"
    text: str = ""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Score:
    """The comparison of a prediction with the observation.

    Attributes
    ----------
    passed : bool
        Whether the pass rule holds.
    value : float or None
        A scalar score (e.g. relative error, ratio) for the table.
    text : str
        What was compared, in words (e.g. ``"|rel. error| 0.1 % <= 5 %"``).
    """

    passed: bool
    value: float | None = None
    text: str = ""


@dataclass(frozen=True)
class Verdict:
    """One row of the validation report."""

    test: str
    status: str
    observation: Observation
    prediction: Prediction
    score: Score
    protocol: str = ""
    run: str = ""

    def as_dict(self) -> dict:
        o, p, s = self.observation, self.prediction, self.score
        return {"test": self.test, "status": self.status, "protocol": self.protocol,
                "run": self.run,
                "observation": {"description": o.description, "value": o.value, "low": o.low,
                                "high": o.high, "spread": o.spread, "units": o.units,
                                "citation": o.citation},
                "prediction": {"value": p.value, "units": p.units, "text": p.text,
                               "details": p.details},
                "score": {"passed": s.passed, "value": s.value, "text": s.text}}


class ValidationTest(ABC):
    """A validation test: one observation, a feature extractor, a pass rule.

    Subclasses set :attr:`observation` (usually in ``__init__``) and implement
    :meth:`generate_prediction` and :meth:`compute_score`. They may implement
    :meth:`figure` (a pure function of the Results) and name it with
    :attr:`figure_name`; tests sharing a figure name and a run share one figure.

    Attributes
    ----------
    name : str
        Unique name (``biosnn validate --list``).
    observation : Observation
    severity : {"fail", "warn"}
        Status when the pass rule does not hold.
    figure_name : str or None
    """

    severity: ClassVar[str] = FAIL
    figure_name: ClassVar[str | None] = None

    def __init__(self, name: str, observation: Observation):
        self.name = name
        self.observation = observation

    @abstractmethod
    def generate_prediction(self, results) -> Prediction:
        """Extract the model's value from a protocol's saved Results (pure)."""

    @abstractmethod
    def compute_score(self, observation: Observation, prediction: Prediction) -> Score:
        """Compare ``prediction`` with ``observation`` and apply the pass rule."""

    def figure(self, results):
        """A matplotlib Figure illustrating the test on ``results`` (default: none)."""
        return None

    def judge(self, results, *, protocol: str = "", run: str = "") -> Verdict:
        """Generate the prediction, score it, and return the verdict."""
        prediction = self.generate_prediction(results)
        score = self.compute_score(self.observation, prediction)
        status = PASS if score.passed else self.severity
        return Verdict(self.name, status, self.observation, prediction, score, protocol, run)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
