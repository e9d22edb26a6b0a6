"""Validation against biology: observation / prediction / score tests and their report.

* :mod:`.base` -- the pattern (Observation, Prediction, Score, Verdict, ValidationTest);
* :mod:`.spikes` -- spike statistics (Elephant) and burst detection;
* :mod:`.izhikevich` -- Izhikevich (2003) firing patterns;
* :mod:`.lif` -- LIF f-I curve vs its closed form;
* :mod:`.stdp` -- STDP learning window (pair rule, Bi & Poo);
* :mod:`.regimes` -- membrane and firing regimes vs cortical data (pass / warn);
* :mod:`.registry` -- the one list of tests and the runs they judge;
* :mod:`.report` -- ``biosnn validate``: run or reuse, judge, write the report;
* :mod:`.figures` -- the report's figures (pure functions of saved Results).
"""
from .base import FAIL, PASS, WARN, Observation, Prediction, Score, ValidationTest, Verdict

__all__ = ["Observation", "Prediction", "Score", "Verdict", "ValidationTest", "PASS", "WARN",
           "FAIL"]
