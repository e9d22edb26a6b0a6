"""The catalogue of publication figures, and ``regenerate``: every figure from saved results.

Each :class:`FigureEntry` names one figure, the protocol and seed whose saved Results
it is drawn from, and the pure drawing function (one module per figure in
:mod:`bioSNN.plots`). :func:`regenerate` (``biosnn figures``) reuses a finished run of
exactly that protocol spec and seed when one exists under the results root, runs the
protocol otherwise, loads the saved run folder and writes ``<out>/<name>.png`` and
``<out>/<name>.pdf``.

Output is deterministic: fixed size and resolution, no date or version metadata, so
the same saved Results always give byte-identical PNG files.

``figures/README.md`` describes every entry; add a row there when adding one here.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .errors import BioSNNError
from .plots.style import DPI, save_figure

__all__ = ["FigureEntry", "CATALOGUE", "figure_names", "get_entry", "regenerate", "figure_specs",
           "DEFAULT_FIGURES_OUT"]

DEFAULT_FIGURES_OUT = Path("figures")
FORMATS = ("png", "pdf")


@dataclass(frozen=True)
class FigureEntry:
    """One publication figure.

    Attributes
    ----------
    name : str
        File stem of the outputs (``<name>.png``, ``<name>.pdf``) and the name used by
        ``biosnn figures --only``.
    protocol : str
        Name of the protocol spec (``protocols/<protocol>.toml``) whose run it shows.
    seed : int
        Seed of that run.
    draw : str
        ``"module:function"`` of the pure drawing function
        ``f(results) -> matplotlib.figure.Figure`` (imported only when drawing, so
        listing the catalogue stays cheap; see :meth:`draw_function`).
    description : str
        What the figure shows (one sentence).
    size_in : tuple of float
        Figure size (width, height) in inches that ``draw`` produces.
    dpi : int
        Resolution of the PNG (dots per inch).
    """

    name: str
    protocol: str
    seed: int
    draw: str
    description: str
    size_in: tuple[float, float]
    dpi: int = DPI

    @property
    def size_px(self) -> tuple[int, int]:
        """PNG size (width, height) in pixels."""
        return round(self.size_in[0] * self.dpi), round(self.size_in[1] * self.dpi)

    def draw_function(self) -> Callable:
        """Import and return the drawing function named by :attr:`draw`."""
        from .plots import load_plot

        return load_plot(self.draw)


CATALOGUE: tuple[FigureEntry, ...] = (
    FigureEntry(
        "lif-poisson-trace", "lif-poisson-trace", 0,
        "bioSNN.plots.lif_poisson:plot_lif_poisson_trace",
        "Seed LIF neurons driven by 100 Poisson inputs at 20 Hz through voltage-jump synapses: "
        "(A) input raster, (B) membrane potential with threshold and spikes, (C) output raster",
        (7.0, 7.0)),
    FigureEntry(
        "lif-fi-curve", "lif-fi-curve", 0, "bioSNN.plots.lif_fi:plot_fi_curve",
        "(A) LIF firing rate (1 / mean ISI) vs the analytic f-I curve, rheobase and 1/t_ref; "
        "(B) membrane traces at three currents", (9.0, 3.2)),
    FigureEntry(
        "izhikevich-gallery", "izhikevich-patterns", 0,
        "bioSNN.plots.izhikevich:plot_izhikevich_gallery",
        "v(t) of the seven Izhikevich (2003) presets under a current step, and the TC/LTS "
        "rebound after a hyperpolarising step", (9.0, 5.7)),
    FigureEntry(
        "stdp-window", "stdp-window", 0, "bioSNN.plots.stdp_window:plot_stdp_window",
        "Pair-STDP learning window measured in Brian2 (60 pairings at 1 Hz per lag): (A) weight "
        "change per pairing vs lag with the configured rule, the exponential fit and Bi & Poo's "
        "(2001) window shape (16.8 / 33.7 ms); (B) measured minus analytic", (9.0, 3.4)),
    FigureEntry(
        "sjostrom-frequency", "sjostrom-frequency", 0,
        "bioSNN.plots.stdp_frequency:plot_stdp_frequency",
        "Frequency dependence of STDP pairing: weight change (%) after 60 pairings at +10 and "
        "-10 ms vs pairing frequency, all-to-all triplet rule (Pfister & Gerstner 2006), with "
        "the data of Sjöström et al. (2001), mean ± SEM", (5.6, 3.8)),
    FigureEntry(
        "wang-triplets", "wang-triplets", 0, "bioSNN.plots.stdp_triplets:plot_stdp_triplets",
        "Spike triplets (Wang et al. 2005): weight change (%) after 60 pre-post-pre and "
        "post-pre-post triplets at 5/5 ms, minimal triplet rule, hippocampal parameters",
        (4.0, 3.2)),
    FigureEntry(
        "song2000-weights", "song2000-weights", 0,
        "bioSNN.plots.stdp_weights:plot_weight_distributions",
        "Weight distributions of pair STDP under Poisson input (Song et al. 2000): (A) final "
        "histogram per weight dependence (additive bimodal; Gütig, multiplicative unimodal), "
        "(B) fraction of weights in the outer tenths over time", (7.0, 3.0)),
    FigureEntry(
        "markram1998-trains", "markram1998-trains", 0, "bioSNN.plots.stp_trains:plot_stp_trains",
        "Tsodyks-Markram EPSP trains at 5-40 Hz: (A, B) efficacy of each spike, simulated, "
        "recursion and steady state, for the depressing and the facilitating synapse; (C) "
        "readout membrane during the 20 Hz train", (9.0, 2.9)),
    FigureEntry(
        "vogels2011-balance", "vogels2011-balance", 0,
        "bioSNN.plots.istdp_balance:plot_istdp_balance",
        "Inhibitory STDP balances a tuned excitatory input (Vogels et al. 2011, Fig. 1): (A) "
        "excitatory and inhibitory weight per input group over learning, (B) postsynaptic "
        "rate vs the target, (C) excitatory and inhibitory currents in the last second",
        (9.0, 2.9)),
    FigureEntry(
        "rstdp-patterns-3class", "rstdp-patterns-3class", 0,
        "bioSNN.plots.rstdp:plot_rstdp_overview",
        "R-STDP on the seed's 3-class noisy periodic patterns: (A) learning curve and test "
        "accuracy, (B, C) hidden->output weights before and after training, (D-F) input, hidden "
        "and output rasters of a test trial of each class", (7.8, 5.2)),
    FigureEntry(
        "distal-reward", "distal-reward", 0,
        "bioSNN.plots.distal_reward:plot_distal_reward",
        "Izhikevich (2007) distal reward: (A) the chosen synapse's weight vs sampled others with "
        "reward times, (B) final weight distribution, (C) rewards per minute, (D) raster of the "
        "last second", (9.0, 6.0)),
    FigureEntry(
        "fewshot-mnist-seed", "fewshot-mnist-seed", 0,
        "bioSNN.plots.fewshot:plot_fewshot_overview",
        "Few-shot MNIST (all digits), spiking prototypical network vs its ANN twin: (A) training "
        "accuracy per task, (B) test accuracy with 95% CI, (C) t-SNE map of SNN test "
        "embeddings, (D) per-layer firing rates (Hz)", (9.0, 6.6)),
    FigureEntry(
        "fewshot-mnist-disjoint", "fewshot-mnist-disjoint", 0,
        "bioSNN.plots.fewshot:plot_fewshot_overview",
        "Few-shot MNIST on unseen digits (train 0-4, test 5-9), spiking prototypical network vs "
        "its ANN twin: (A) training accuracy per task, (B) test accuracy with 95% CI, (C) t-SNE "
        "map of SNN test embeddings, (D) per-layer firing rates (Hz)", (9.0, 6.6)),
    FigureEntry(
        "replay-crossval", "replay-crossval", 0,
        "bioSNN.plots.replay:plot_replay_overview",
        "The CSNN replayed in Brian2 (biological units) vs snnTorch: spike count of every "
        "(image, neuron) of each stage, (A) constant image current, (B) rate-coded input; (C) "
        "per-neuron firing rates (Hz) of the LIF layers against the in-vivo range",
        (10.0, 7.5)),
    FigureEntry(
        "replay-membrane-traces", "replay-crossval", 0,
        "bioSNN.plots.replay:plot_replay_traces",
        "Membrane potential (mV) of three neurons per LIF layer of the replayed CSNN, snnTorch "
        "(lines) and Brian2 (circles) overlaid, for the constant (A) and rate-coded (B) input",
        (9.0, 5.6)),
    *(FigureEntry(
        f"brunel2000-{state}", f"brunel2000-{state}", 0,
        "bioSNN.plots.brunel:plot_brunel_activity",
        f"Brunel (2000) model A, {label} (g {g}, eta {eta}): (A) raster of excitatory and "
        f"inhibitory neurons, (B) population rate, (C) per-neuron rate and ISI-CV histograms; "
        f"the measures and the state they imply in the title", (7.0, 6.0))
      for state, label, g, eta in (("ai", "AI state", 5, 2), ("sr", "SR state", 3, 2),
                                   ("si-fast", "SI-fast state", 6, 4),
                                   ("si-slow", "SI-slow state", 4.5, 0.9))),
    *(FigureEntry(
        f"{net}-benchmark", f"{net}-benchmark", 0,
        "bioSNN.plots.vogels_abbott:plot_vogels_abbott_activity",
        f"The {net.upper()} benchmark of Brette et al. (2007) (Vogels & Abbott 2005; 4000 LIF "
        f"neurons, {kind} synapses): (A) raster, (B) population rate, (C) rate and ISI-CV "
        f"histograms", (7.0, 6.0))
      for net, kind in (("cuba", "current-based"), ("coba", "conductance-based"))),
    FigureEntry(
        "stdp-mnist-100", "stdp-mnist-100", 0,
        "bioSNN.plots.stdp_mnist:plot_receptive_fields",
        "Diehl & Cook (2015) unsupervised STDP on MNIST: the learned input weights of every "
        "excitatory neuron as a 28 x 28 receptive field, in a grid",
        (6.0, 6.4)),
    FigureEntry(
        "conversion-mnist", "conversion-mnist", 0,
        "bioSNN.plots.conversion:plot_accuracy_vs_steps",
        "ANN->SNN conversion on MNIST: (A) SNN test accuracy vs number of steps T beside the "
        "ANN's (0.3-point band), (B) synaptic operations per inference vs T beside the ANN's "
        "multiply-accumulates", (6.4, 2.6)),
)
"""Every publication figure, in the order ``biosnn figures`` draws them."""


def figure_names() -> list[str]:
    """Names of all catalogue entries, in catalogue order."""
    return [e.name for e in CATALOGUE]


def get_entry(name: str) -> FigureEntry:
    """The catalogue entry ``name``.

    Raises
    ------
    BioSNNError
        When no figure has that name (the message lists the valid names).
    """
    for entry in CATALOGUE:
        if entry.name == name:
            return entry
    raise BioSNNError(f"unknown figure {name!r}; known figures: {', '.join(figure_names())}")


def _log(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr)


def regenerate(names: Iterable[str] | None = None, quick: bool = False,
               out: str | os.PathLike = DEFAULT_FIGURES_OUT,
               results_root: str | os.PathLike = "results", progress: bool = True,
               data_root: str | os.PathLike | None = None) -> list[Path]:
    """Draw catalogue figures from saved results, running protocols only where needed.

    For each entry the protocol's spec is resolved (``quick``, the entry's seed); a
    finished run of exactly that spec under ``results_root`` is reused
    (:func:`bioSNN.runner.find_run`), otherwise the protocol is run into
    ``results_root`` (:func:`bioSNN.runner.run_protocol`). The figure is then drawn
    from the run folder loaded back from disk and written as PNG and PDF.

    Parameters
    ----------
    names : iterable of str, optional
        Figures to draw (default: all, in catalogue order).
    quick : bool or collection of str
        Use the specs' ``[quick]`` sizes (for tests and CI): for every protocol, or for
        the protocols named.
    out : path
        Folder for the figure files (created).
    results_root : path
        Results root searched for, and receiving, protocol runs.
    progress : bool
        Report reused/new runs and progress bars on stderr.
    data_root : path, optional
        Dataset folder for protocols that read data (default ``$BIOSNN_DATA``).

    Returns
    -------
    list of Path
        The files written, ``<out>/<name>.png`` and ``<out>/<name>.pdf`` per figure.

    Raises
    ------
    BioSNNError
        For an unknown figure name (before anything runs) or invalid spec.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .errors import writing_to
    from .results import Results
    from .runner import ensure_run

    from .paths import make_output_dirs
    from .runner import RESULTS_OPTION

    specs = figure_specs(names, quick)
    out = Path(out)
    make_output_dirs((results_root, RESULTS_OPTION), (out, "figures folder (--out)"))
    if progress:
        from .plan import format_plan, plan_runs

        print(format_plan(plan_runs(specs.values(), results_root),
                          f"biosnn figures: {len(specs)} figures"), file=sys.stderr)
    written: list[Path] = []
    for entry, spec in specs.items():
        folder, _ = ensure_run(spec, results_root, progress=progress, data_root=data_root,
                               label=entry.name)
        results = Results.load(folder)
        t0 = time.perf_counter()
        fig = entry.draw_function()(results)
        try:
            with writing_to(out, "figures folder (--out)"):
                for fmt in FORMATS:
                    written.append(save_figure(fig, out / f"{entry.name}.{fmt}", dpi=entry.dpi))
        finally:
            plt.close(fig)
        _log(progress, f"{entry.name}: drawn in {time.perf_counter() - t0:.1f} s")
    return written


def figure_specs(names: Iterable[str] | None = None, quick=False) -> dict:
    """Catalogue entry -> the resolved spec of the run it is drawn from.

    Parameters
    ----------
    names : iterable of str, optional
        Figures (default: all, in catalogue order); an unknown name raises
        :class:`BioSNNError` listing the valid ones.
    quick : bool or collection of str
        Quick sizes for every protocol, or for the protocols named
        (:func:`bioSNN.runner.quick_for`).
    """
    from .protocols.spec import find_spec
    from .runner import quick_for

    if isinstance(names, str):
        names = [names]
    entries = list(CATALOGUE) if names is None else [get_entry(n) for n in dict.fromkeys(names)]
    return {e: find_spec(e.protocol).resolve(quick=quick_for(quick, e.protocol), seed=e.seed)
            for e in entries}
