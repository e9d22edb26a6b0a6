r"""Spike-timing-dependent plasticity, composed from named parts.

A rule (:class:`STDPRule`) is a timing dependence (when spikes change the
synapse: all-to-all pairs, three nearest-neighbour schemes, triplets), a weight
dependence (how much: additive, multiplicative, van Rossum, Gütig) and an optional
modulation (R-STDP), after PyNN's ``STDPMechanism`` and the eligibility-trace
model of Izhikevich (2007); :func:`make_plastic_synapses` turns it into a
Brian2 ``Synapses``. Each part has an interface (:class:`TimingDependence`,
:class:`WeightDependence`, :class:`Modulation`) for user-defined parts.
Inhibitory STDP (Vogels, Sprekeler et al. 2011) is a timing dependence,
Tsodyks-Markram short-term plasticity a standalone builder. The
equations, the order of updates and the NEST parity table are in
``docs/plasticity.md``.

References
----------
.. [1] Song, S., Miller, K. D. & Abbott, L. F. (2000). Nature Neuroscience 3,
   919-926. doi:10.1038/78829
.. [2] Morrison, A., Diesmann, M. & Gerstner, W. (2008). Biological
   Cybernetics 98, 459-478. doi:10.1007/s00422-008-0233-1
.. [3] Pfister, J.-P. & Gerstner, W. (2006). J Neurosci 26, 9673-9682.
   doi:10.1523/JNEUROSCI.1425-06.2006
.. [4] van Rossum, M. C. W., Bi, G. Q. & Turrigiano, G. G. (2000). J Neurosci
   20, 8812-8821. doi:10.1523/JNEUROSCI.20-23-08812.2000
.. [5] Gütig, R., Aharonov, R., Rotter, S. & Sompolinsky, H. (2003). J Neurosci
   23, 3697-3714. doi:10.1523/JNEUROSCI.23-09-03697.2003
.. [6] Izhikevich, E. M. (2007). Cerebral Cortex 17, 2443-2452.
   doi:10.1093/cercor/bhl152
.. [7] Florian, R. V. (2007). Neural Computation 19, 1468-1502.
   doi:10.1162/neco.2007.19.6.1468
.. [8] Fremaux, N. & Gerstner, W. (2016). Frontiers in Neural Circuits 9, 85.
   doi:10.3389/fncir.2015.00085
"""
from .dopamine_nest import NESTDopamineModulation
from .inhibitory import VogelsSprekelerTiming, vogels_sprekeler_rule
from .modulation import DopamineModulation, Modulation, NoModulation, RewardModulation
from .reward import add_reward_operation, apply_reward, eligibility_at
from .rule import STDPRule, SynapseCode, make_plastic_synapses
from .table import PlasticityTable
from .short_term import (TsodyksMarkram, make_stp_synapses, tm_regular_train,
                         tm_regular_train_u, tm_steady_state)
from .timing import (NearestPreCentredTiming, NearestRestrictedTiming, NearestSymmetricTiming,
                     STDPTiming, TimingDependence, TripletTiming)
from .weights import (AdditivePotentiationMultiplicativeDepression, AdditiveWeights,
                      GutigWeights, MultiplicativeWeights, WeightBounds, WeightDependence)

__all__ = [
    # today's names (unchanged)
    "STDPTiming",
    "WeightBounds",
    "RewardModulation",
    "STDPRule",
    "make_plastic_synapses",
    "add_reward_operation",
    "apply_reward",
    "eligibility_at",
    "SynapseCode",
    # interfaces
    "TimingDependence",
    "WeightDependence",
    "Modulation",
    # timing dependences
    "NearestSymmetricTiming",
    "NearestPreCentredTiming",
    "NearestRestrictedTiming",
    "TripletTiming",
    # weight dependences
    "AdditiveWeights",
    "MultiplicativeWeights",
    "AdditivePotentiationMultiplicativeDepression",
    "GutigWeights",
    # modulation
    "NoModulation",
    "DopamineModulation",
    "NESTDopamineModulation",
    # inhibitory STDP (a timing dependence; Vogels, Sprekeler et al. 2011)
    "VogelsSprekelerTiming",
    "vogels_sprekeler_rule",
    # a rule written as a spec table ([parameters.plasticity])
    "PlasticityTable",
    # short-term plasticity (standalone builder; Tsodyks & Markram 1997)
    "TsodyksMarkram",
    "make_stp_synapses",
    "tm_regular_train",
    "tm_regular_train_u",
    "tm_steady_state",
]
