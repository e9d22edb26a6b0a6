r"""Brian2 replay of the trained CSNN: the same network, in biological units, neuron by neuron.

The convolutional spiking embedder trained with the snnTorch-style functional LIF
(:mod:`bioSNN.embedder`) is exported to a Brian2 network of LIF neurons and re-run on the
same inputs; both simulators' spikes, membranes and embeddings are compared
(:mod:`bioSNN.replay.compare`). No existing converter does this (NIR has no max-pooling
and no Brian2 backend).

Modules: :mod:`~bioSNN.replay.units` (the mapping to biological units),
:mod:`~bioSNN.replay.connectivity` (explicit connection lists of conv / pool / linear
layers), :mod:`~bioSNN.replay.network` (the Brian2 export and replay),
:mod:`~bioSNN.replay.reference` (the snnTorch side, every spike recorded; rate coding),
:mod:`~bioSNN.replay.compare` (agreement measures), :mod:`~bioSNN.replay.checkpoint`
(loading a trained embedder, with a clear error when it does not fit).

Units
-----
With rest :math:`E_L` (default -65 mV), threshold :math:`V_{th}` (-58 mV) for the
unit-less threshold :math:`\theta` (1) and one step :math:`\Delta t` (1 ms):

.. math::

    v = E_L + s\,U, \qquad s = \frac{V_{th} - E_L}{\theta} = 7\ \mathrm{mV},\qquad
    \tau_m = -\frac{\Delta t}{\ln\beta} = 19.5\ \mathrm{ms}\ (\beta = 0.95)

Weights, biases and the image current become membrane increments per step (``s`` times
the unit-less value, in volts). Firing rates are spike counts over
:math:`T\,\Delta t`.

Neuron update (snnTorch 1.0 ``Leaky`` defaults, reproduced exactly)
--------------------------------------------------------------------
snnTorch's subtractive reset is *delayed*: a spike emitted at step :math:`t-1` subtracts
the threshold at step :math:`t`, from the undecayed term,

.. math::

    U[t] &= \beta\,U[t-1] + I[t] - \theta\,H(U[t-1] - \theta) \\
    S[t] &= H(U[t] - \theta)

unlike Brian2's reset, which acts in the step of the spike. The Brian2 ``NeuronGroup``
therefore has no differential equation and no reset: a ``run_regularly`` operation in the
``groups`` slot applies the discrete map, reading the previous step's spike from the
membrane itself (:math:`H(U[t-1]-\theta)` is :math:`[v > V_{th}]` before the update, the
same condition the threshold tested one step earlier, so no extra flag is stored),

.. math::

    v \leftarrow E_L + \beta\,(v - E_L) + I_{syn} + I_{bias} + I_{ext}
                 - (V_{th} - E_L)\,[v > V_{th}], \qquad I_{syn} \leftarrow 0

and the threshold ``v > V_th`` (``thresholds`` slot, same step) emits :math:`S[t]`.

Layers
------
* **Conv2d** and **Linear** -> ``Synapses`` ``on_pre: I_syn_post += w`` with the trained
  weights times ``s``; shared convolution weights are expanded to explicit connections
  (index arrays computed in numpy, :mod:`~bioSNN.replay.connectivity`); biases are
  constant currents ``I_bias = s b``.
* **Input**: the constant image current of the CSNN enters through ``Synapses`` with a
  summed variable ``I_conv = sum w x_pre`` from a group holding the image (a
  ``TimedArray``), evaluated on a clock of one image period (the image is constant, so
  once per image) and read by the first LIF layer as the linked ``I_ext``. The rate-coded
  variant (:func:`~bioSNN.replay.reference.rate_code`) adds a ``SpikeGeneratorGroup``
  with the same spikes as the torch side.
* **MaxPool2d of binary spikes** = OR over the window: a pool neuron counts the spikes its
  window sent (``on_pre: n_in_post += 1``), copies the count in the ``groups`` slot
  (``n_window = n_in; n_in = 0``) and fires iff ``n_window > 0.5``.

Step alignment
--------------
A spike emitted at Brian2 step :math:`n` is delivered in the ``synapses`` slot of step
:math:`n` and used by the next stage's update at step :math:`n+1`: every stage adds one
step. Rather than running layer by layer, the whole network runs at once with a
documented shift: stage :math:`k` (input 0, lif1 1, pool1 2, lif2 3, pool2 4, lif3 5)
processes torch step :math:`t` (1-based) at step :math:`k + t - 1` of the image's
period. Images are batched in time: image :math:`i` occupies steps
:math:`[iP, (i+1)P)` with :math:`P = T + 5`; each LIF stage is active only in its window
of :math:`T` steps and rests at :math:`E_L` otherwise, so the images do not interact and
the whole batch is one ``Network.run`` (one compiled cpp_standalone project). Spikes are
mapped back to (image, torch step, neuron) when decoding.

All in float64 (Brian2's default); the torch reference runs in float64 too. Spikes agree
exactly unless a membrane lies within rounding (~1e-15 of the threshold) of it.
"""
from .checkpoint import check_state_dict, load_embedder
from .compare import embedding_errors, mismatches, prototype_decisions
from .network import STAGE_OFFSET, period, replay_brian2
from .reference import LIF_STAGES, STAGES, RateCoded, Recording, rate_code, torch_reference
from .units import BioMapping

__all__ = ["BioMapping", "LIF_STAGES", "STAGES", "STAGE_OFFSET", "RateCoded", "Recording",
           "check_state_dict", "embedding_errors", "load_embedder", "mismatches", "period",
           "prototype_decisions", "rate_code", "replay_brian2", "torch_reference"]
