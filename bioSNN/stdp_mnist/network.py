r"""The Diehl & Cook (2015) network as one Brian2 ``Network``, control included.

Every presentation slot is ``presentation + rest`` long. A one-neuron ``control`` group
holds the image index ``img``, the number of boosts of the current image ``boost``, the
presentation's excitatory spike count ``total`` and the ``learning`` flag; at the start
of each slot it accepts the last presentation (``total >= min_spikes`` or
``boost >= max_boosts``: next image, rate back to ``max_rate``) or repeats the image
with its maximum rate raised by ``boost_rate``. ``learning = img < n_train`` gates STDP,
the threshold growth and decay and the normalisation, so training, labelling (training
images, frozen) and testing are one run, whatever the number of repeats.

Weight normalisation keeps :math:`\sum_i w_{ij}` = ``w_sum`` for every excitatory neuron
:math:`j` at the start of each slot. The sum is tracked incrementally (each STDP update
adds its change to ``w_total``), so it costs nothing per time step (a ``(summed)``
variable would add :math:`784 N_e` operations to every step).
"""
from __future__ import annotations

import math

import numpy as np
from brian2 import (Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses, TimedArray,
                    linked_var, ms, mV, second)

__all__ = ["build_network", "STDP_RULES"]

_EXC = """
dv/dt = ((v_rest_e - v) + ge * (E_exc - v) + gi * (E_inh_e - v)) / tau_e : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
dtheta/dt = -learning * theta / tau_theta : volt
theta_train : volt
w_total : 1
plastic : 1
learning : 1 (linked)
"""
_INH = """
dv/dt = ((v_rest_i - v) + ge * (E_exc - v) + gi * (E_inh_i - v)) / tau_i : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
"""
_INPUT = """
rate = pixel(img * frame, i) * (max_rate + boost * boost_rate) * on : Hz
on = int((timestep(t, dt) % slot_steps) < pres_steps) : 1
img : 1 (linked)
boost : 1 (linked)
"""
_SYN = """
w : 1
dpre/dt = -pre / tau_pre : 1 (event-driven)
dpost1/dt = -post1 / tau_post1 : 1 (event-driven)
dpost2/dt = -post2 / tau_post2 : 1 (event-driven)
"""
# dw: the clipped change; w_total_post tracks the column sum (see module docstring)
STDP_RULES = {
    # Diehl & Cook's presynaptic-trace rule: on a postsynaptic spike,
    # dw = nu_post (x_pre - x_tar) (w_max - w)^mu
    "pre_trace": (
        "ge_post += w\npre = 1",
        "dw = plastic_post * (clip(w + nu_post * (pre - x_tar) * clip(w_max - w, 0, w_max)**mu, 0, w_max) - w)\n"
        "w += dw\nw_total_post += dw"),
    # the public code's default (pre-post "triplet"): depression by post1 on a presynaptic
    # spike, potentiation by pre * post2 (its value before this spike) on a postsynaptic one
    "triplet": (
        "ge_post += w\npre = 1\n"
        "dw = plastic_post * (clip(w - nu_pre * post1, 0, w_max) - w)\n"
        "w += dw\nw_total_post += dw",
        "dw = plastic_post * (clip(w + nu_post * pre * post2, 0, w_max) - w)\n"
        "w += dw\nw_total_post += dw\npost1 = 1\npost2 = 1"),
}


def phase_deadlines(p, n_images: int, n_train: int) -> tuple[tuple[int, int, int],
                                                              tuple[int, int, int]]:
    """Where each phase's images end (image index) and the slot by which each phase must
    be done: every phase gets its own images plus ``floor(repeat_budget x`` its images``)``
    slots for repeats, the test phase the rest of the run's ``p.n_slots``. A phase that
    ends early leaves its spare slots to the next ones; none can take a later phase's."""
    n_label = n_images - n_train - p.n_test
    label_end = n_train + n_label
    d_train = n_train + math.floor(p.repeat_budget * n_train)
    d_label = d_train + n_label + math.floor(p.repeat_budget * n_label)
    return (n_train, label_end, n_images), (d_train, d_label, p.n_slots)


def build_network(p, pixels: np.ndarray, n_train: int, rng: np.random.Generator):
    """Build the network (run it for ``p.n_slots`` slots plus one step).

    Parameters
    ----------
    p : StdpMnistParams
    pixels : (n_images, 784) float array in [0, 1]
        Every image in presentation order (training, labelling, test).
    n_train : int
        The first ``n_train`` images are learned from.
    rng : numpy Generator
        Initial weights and delays.

    Returns
    -------
    (Network, dict) : the network and its named objects.
    """
    n_e, n_in = p.n_exc, pixels.shape[1]
    slot = p.presentation + p.rest
    slot_steps = int(round(float(slot / p.dt)))
    pres_steps = int(round(float(p.presentation / p.dt)))
    frame = 1 * second  # row k of the TimedArray is read at time k * frame
    values = np.vstack([pixels, np.zeros((1, n_in))])  # after the last image: silence
    pixel = TimedArray(values, dt=frame, name="pixel")

    n_images = pixels.shape[0]
    ends, deadlines = phase_deadlines(p, n_images, n_train)
    control = NeuronGroup(1, "img : 1\nboost : 1\ntotal : 1\nlearning : 1\nforced : 1",
                          name="control",
                          namespace={"min_spikes": p.min_spikes, "max_boosts": p.max_boosts,
                                     "n_images": n_images, "n_train": n_train,
                                     "label_end": ends[1], "d_train": deadlines[0],
                                     "d_label": deadlines[1], "d_test": deadlines[2],
                                     "slot_len": slot})
    control.learning = 1.0 if n_train > 0 else 0.0
    # A repeat is allowed only while the phase keeps a slot for each of its later images
    # (its deadline: phase_deadlines); otherwise the presentation is accepted ("forced").
    control.run_regularly(
        "in_train = int(img < n_train)\n"
        "in_label = int(img >= n_train) * int(img < label_end)\n"
        "in_test = 1 - in_train - in_label\n"
        "deadline = in_train * d_train + in_label * d_label + in_test * d_test\n"
        "phase_end = in_train * n_train + in_label * label_end + in_test * n_images\n"
        "slot_now = floor(t / slot_len + 0.5)\n"
        "wanted = int(total >= min_spikes or boost >= max_boosts)\n"
        "forced = (1 - wanted) * int(deadline - slot_now < phase_end - img) * int(img < n_images)"
        " * int(t > 0*ms)\n"
        "accept = int(wanted + forced > 0) * int(t > 0*ms)\n"
        "repeat = int(t > 0*ms) - accept\n"
        "img = clip(img + accept, 0, n_images)\n"
        "boost = (boost + 1) * repeat\n"
        "total = 0\n"
        "learning = int(img < n_train)",
        dt=slot, when="start", order=2, name="control_step")

    inp = NeuronGroup(n_in, _INPUT, threshold="rand() < rate * dt", name="input",
                      namespace={"pixel": pixel, "frame": frame, "max_rate": p.max_rate,
                                 "boost_rate": p.boost_rate, "slot_steps": slot_steps,
                                 "pres_steps": pres_steps})
    zeros_in = np.zeros(n_in, dtype=int)
    inp.img = linked_var(control, "img", index=zeros_in)
    inp.boost = linked_var(control, "boost", index=zeros_in)

    ns_e = {"v_rest_e": p.v_rest_e, "E_exc": p.E_exc, "E_inh_e": p.E_inh_e, "tau_e": p.tau_e,
            "tau_ge": p.tau_ge, "tau_gi": p.tau_gi, "tau_theta": p.tau_theta,
            "v_thresh_e": p.v_thresh_e, "theta_offset": p.theta_offset,
            "v_reset_e": p.v_reset_e, "theta_plus": p.theta_plus, "w_sum": p.w_sum}
    exc = NeuronGroup(n_e, _EXC, threshold="v > v_thresh_e + theta - theta_offset",
                      reset="v = v_reset_e\ntheta += learning * theta_plus",
                      refractory=p.refrac_e, method="exponential_euler", namespace=ns_e, name="exc")
    exc.learning = linked_var(control, "learning", index=np.zeros(n_e, dtype=int))
    exc.v = p.v_rest_e - 40 * mV  # as the public code: start below rest
    exc.theta = p.theta_init
    exc.plastic = 1.0 if n_train > 0 else 0.0
    ns_i = {"v_rest_i": p.v_rest_i, "E_exc": p.E_exc, "E_inh_i": p.E_inh_i, "tau_i": p.tau_i,
            "tau_ge": p.tau_ge, "tau_gi": p.tau_gi, "v_thresh_i": p.v_thresh_i,
            "v_reset_i": p.v_reset_i}
    inh = NeuronGroup(n_e, _INH, threshold="v > v_thresh_i", reset="v = v_reset_i",
                      refractory=p.refrac_i, method="exponential_euler", namespace=ns_i, name="inh")
    inh.v = p.v_rest_i - 40 * mV

    on_pre, on_post = STDP_RULES[p.rule]
    ns_syn = {"tau_pre": p.tau_pre, "tau_post1": p.tau_post1, "tau_post2": p.tau_post2,
              "nu_pre": p.nu_pre, "nu_post": p.nu_post, "x_tar": p.x_tar, "mu": p.mu,
              "w_max": p.w_max, "w_sum": p.w_sum}
    syn = Synapses(inp, exc, _SYN, on_pre=on_pre, on_post=on_post, namespace=ns_syn,
                   name="input_exc")
    pre_i = np.repeat(np.arange(n_in, dtype=np.int32), n_e)
    post_j = np.tile(np.arange(n_e, dtype=np.int32), n_in)
    syn.connect(i=pre_i, j=post_j)
    w0 = rng.uniform(p.w_init_min, p.w_init_max, size=(n_in, n_e))
    syn.w = w0.ravel()
    exc.w_total = w0.sum(axis=0)
    if p.input_delay_max > 0 * ms:
        syn.delay = rng.uniform(0, float(p.input_delay_max / ms), n_in * n_e) * ms
    # order 0 / 1 / 2 / 4 at each slot start: normalise, reset the tracked sums and keep
    # theta's value while learning (flag of the slot that ended), control, copy the flag
    # (while frozen, w_total stays w_sum and the scaling multiplies by exactly 1)
    syn.run_regularly("w = w * w_sum / w_total_post", dt=slot, when="start", order=0,
                      name="normalise")
    exc.run_regularly("w_total = w_sum\n"
                      "theta_train = learning * theta + (1 - learning) * theta_train",
                      dt=slot, when="start", order=1, name="normalised")
    # linked variables cannot be read from synapses (learning_post): a plain copy,
    # taken after the control step
    exc.run_regularly("plastic = learning", dt=slot, when="start", order=4, name="plastic")

    e2i = Synapses(exc, inh, on_pre="ge_post += w_ei", namespace={"w_ei": p.w_ei}, name="exc_inh")
    e2i.connect(i=np.arange(n_e, dtype=np.int32), j=np.arange(n_e, dtype=np.int32))
    ii, jj = np.nonzero(~np.eye(n_e, dtype=bool))
    i2e = Synapses(inh, exc, on_pre="gi_post += w_ie", namespace={"w_ie": p.w_ie}, name="inh_exc")
    i2e.connect(i=ii.astype(np.int32), j=jj.astype(np.int32))
    counter = Synapses(exc, control, on_pre=f"total_post += {_window(slot_steps, pres_steps)}",
                       namespace={}, name="count_spikes")
    counter.connect(i=np.arange(n_e, dtype=np.int32), j=np.zeros(n_e, dtype=np.int32))

    spikes = SpikeMonitor(exc, name="exc_spikes")
    inp_count = SpikeMonitor(inp, record=False, name="input_count")
    inh_count = SpikeMonitor(inh, record=False, name="inh_count")
    schedule = StateMonitor(control, ["img", "boost", "forced"], record=0, dt=slot, when="start",
                            order=3, name="schedule")
    objects = dict(control=control, input=inp, exc=exc, inh=inh, syn=syn, e2i=e2i, i2e=i2e,
                   counter=counter, spikes=spikes, input_count=inp_count,
                   inh_count=inh_count, schedule=schedule)
    return Network(*objects.values()), objects


def _window(slot_steps: int, pres_steps: int) -> str:
    return f"int((timestep(t, dt) % {slot_steps}) < {pres_steps})"
