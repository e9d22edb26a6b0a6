"""NIR in and out (Neuromorphic Intermediate Representation, Pedersen et al. 2024).

Out: :func:`export_nir` writes a trained CSNN (a run folder's ``snn.pt``) as a NIR graph;
NIR has no max-pooling, so only the sum-pool CSNN (``pool = "sum"``) exports, exactly.
In: :func:`read_graph` and :func:`lower` turn a NIR graph into a :class:`Plan` (neuron
layers with per-step update coefficients for a ``flavour``, and composed connection
matrices) that :mod:`bioSNN.protocols.nir_replay` builds as a Brian2 network;
:func:`reference_run` integrates the graph node by node in NumPy, independently of the
plan. Mapping and update equations: ``docs/nir.md``.

References
----------
J. E. Pedersen et al. (2024) Neuromorphic intermediate representation: a unified
instruction set for interoperable brain-inspired computing. Nat. Commun. 15, 8122.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BioSNNError

__all__ = ["FLAVOURS", "RESETS", "TAU_CONVENTIONS", "SUPPORTED_NODES", "DEFAULT_GRAPH_DT_S",
           "csnn_to_nir", "export_nir", "read_graph", "demo_graph", "Layer", "Term", "Plan",
           "lower", "coefficients", "reference_run", "readout", "decisions"]

#: Discretisations of NIR's continuous-time neurons (equations in docs/nir.md).
FLAVOURS = ("snntorch", "norse", "exact")
#: Reset rules: the node's metadata or the flavour's own ("auto"), subtract the threshold
#: one step late (snnTorch ``Leaky``), or set to ``v_reset`` in the step of the spike.
RESETS = ("auto", "subtract", "value")
#: How NIR time constants are read: as NIR states (seconds), or as Norse 1.1's ``to_nir``
#: writes them (``dt / tau_inv`` = ``dt * tau``; norse/norse#411).
TAU_CONVENTIONS = ("nir", "norse-to_nir")
#: The step each framework integrates with (seconds): snnTorch's exporter fixes 1e-4 s,
#: Norse's default is 1e-3 s; "exact" uses the replay's dt.
DEFAULT_GRAPH_DT_S = {"snntorch": 1e-4, "norse": 1e-3}
NEURONS = ("IF", "LIF", "CubaLIF", "LI")
LINEAR = ("Affine", "Linear", "Scale", "Conv2d", "Flatten", "SumPool2d", "AvgPool2d",
          "Identity")
SUPPORTED_NODES = ("Input", "Output", "Delay") + LINEAR + NEURONS


def _nir():
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is a dependency
        raise BioSNNError("NIR support needs the package nir (pip install nir)") from None
    return nir


# ---------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------
def csnn_to_nir(model, dt_s: float = 1e-3):
    """The NIR graph of a sum-pool :class:`~bioSNN.embedder.csnn.CSNN`.

    Parameters
    ----------
    model : CSNN
        ``model.config.pool`` must be ``"sum"``.
    dt_s : float
        Duration of one CSNN step in seconds (the spec's ``dt``).

    Returns
    -------
    nir.NIRGraph
        ``input (C, H, W) -> conv1 -> lif1 -> pool1 -> conv2 -> lif2 -> pool2 -> flatten
        -> fc -> lif3 -> output``. LIF nodes: ``tau = -dt / ln beta``, ``r = 1 / (1 -
        beta)`` (a step's input I raises v by I), ``v_leak = 0``, ``v_threshold`` the
        CSNN's, ``v_reset = 0``; their metadata say ``reset = "subtract"`` (snnTorch's
        delayed subtractive reset, which NIR's LIF does not express).

    Raises
    ------
    BioSNNError
        For a max-pool CSNN (NIR has no max-pooling).
    """
    nir = _nir()
    c = model.config
    if c.pool != "sum":
        raise BioSNNError(f"NIR has no max-pooling: this CSNN uses pool = {c.pool!r}; "
                          "train it with --set pool=sum to export it to NIR")
    if not 0.0 < c.beta < 1.0:
        raise BioSNNError(f"NIR export needs 0 < beta < 1 for a finite tau, got {c.beta}")
    w = {k: v.detach().double().cpu().numpy() for k, v in model.state_dict().items()}
    size, half, quarter = c.image_size, c.image_size // 2, c.image_size // 4
    tau = -dt_s / math.log(c.beta)
    meta = {"reset": "subtract", "reset_delay": 1, "beta": float(c.beta), "dt_s": float(dt_s),
            "source": "bioSNN CSNN (snnTorch Leaky: U[t] = beta U[t-1] + I[t] - theta "
                      "S[t-1])"}

    def lif(shape):
        ones = np.ones(shape)
        return nir.LIF(tau=tau * ones, r=ones / (1.0 - c.beta), v_leak=0.0 * ones,
                       v_threshold=c.threshold * ones, v_reset=0.0 * ones, metadata=dict(meta))

    def pool():
        return nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                             padding=np.array([0, 0]))

    def conv(name, kernel, n_in):
        return nir.Conv2d(input_shape=(n_in, n_in), weight=w[f"{name}.weight"], stride=1,
                          padding=kernel // 2, dilation=1, groups=1, bias=w[f"{name}.bias"])

    nodes = {
        "input": nir.Input(input_type=np.array([c.in_channels, size, size])),
        "conv1": conv("conv1", c.conv1_kernel, size),
        "lif1": lif((c.conv1_channels, size, size)),
        "pool1": pool(),
        "conv2": conv("conv2", c.conv2_kernel, half),
        "lif2": lif((c.conv2_channels, half, half)),
        "pool2": pool(),
        "flatten": nir.Flatten(input_type=np.array([c.conv2_channels, quarter, quarter]),
                               start_dim=0, end_dim=-1),
        "fc": nir.Affine(weight=w["fc.weight"], bias=w["fc.bias"]),
        "lif3": lif((c.embedding_dim,)),
        "output": nir.Output(output_type=np.array([c.embedding_dim])),
    }
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])),
                        metadata={"source": "bioSNN", "num_steps": int(c.num_steps),
                                  "dt_s": float(dt_s)})


def _load_model(source):
    """``(model, dt_s)`` from a CSNN, or a run folder / ``snn.pt`` with its spec."""
    from ..embedder.csnn import CSNN

    if isinstance(source, CSNN):
        return source, 1e-3
    from ..embedder.checkpoint import find_checkpoint, load_embedder
    from ..protocols.spec import load_spec

    file = find_checkpoint(source)
    spec_file = next((d / "spec.toml" for d in (file.parent, *file.parents)
                      if (d / "spec.toml").is_file()), None)
    if spec_file is None:
        raise BioSNNError(f"{file}: no spec.toml beside it or above it, so its architecture "
                          "and dt are unknown; pass a run folder or a CSNN")
    params = load_spec(spec_file).params
    if not hasattr(params, "csnn_config"):
        raise BioSNNError(f"{spec_file}: a {type(params).__name__} run has no CSNN to export")
    model, _ = load_embedder(file, params.csnn_config())
    from brian2 import second

    return model, float(params.dt / second)


def export_nir(source, path: str | os.PathLike, *, dt_s: float | None = None) -> Path:
    """Write the trained CSNN of a run as a NIR file (``nir.write``, HDF5).

    Parameters
    ----------
    source : CSNN or path
        A :class:`~bioSNN.embedder.csnn.CSNN`, or a few-shot / replay run folder (its
        newest ``snn.pt``, architecture and ``dt`` from its ``spec.toml``) or such a file.
    path : path
        The ``.nir`` file to write (parent folders are created).
    dt_s : float, optional
        Step duration in seconds (default: the run's ``dt``; 1 ms for a bare CSNN).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    BioSNNError
        A max-pool CSNN (one line: NIR has no max-pooling), or a source without a CSNN.
    """
    nir = _nir()
    model, run_dt = _load_model(source)
    graph = csnn_to_nir(model, run_dt if dt_s is None else dt_s)
    from ..results import atomic_output

    with atomic_output(path) as tmp:
        nir.write(tmp, graph)
    return Path(path)


def read_graph(path: str | os.PathLike):
    """``nir.read(path)`` with a one-line error for a missing or unreadable file."""
    nir = _nir()
    p = Path(path).expanduser()
    if not p.is_file():
        raise BioSNNError(f"NIR graph {p} does not exist; pass a .nir file (nir.write)")
    try:
        return nir.read(p)
    except Exception as exc:
        raise BioSNNError(f"NIR graph {p} cannot be read ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''})") from None


def demo_graph(seed: int = 0):
    """A small graph with every supported node type (the spec's default graph).

    ``input (1, 8, 8) -> conv (2 ch) -> LIF -> sum-pool -> conv (3 ch) -> CubaLIF ->
    avg-pool -> flatten (12) -> affine (10) -> IF -> delay (1-2 steps) -> scale -> linear
    (4) -> LI -> output``. Weights are drawn from ``numpy.random.default_rng(seed)``; time
    constants and delays are meant for 1 ms steps.
    """
    nir = _nir()
    rng = np.random.default_rng(seed)
    ms_ = 1e-3

    def full(shape, value):
        return np.full(shape, float(value))

    s1, s2, s3 = (2, 8, 8), (3, 4, 4), (10,)
    readout = rng.normal(0.0, 0.8, (4, 10))  # zero-mean rows: decisions vary with the input
    nodes = {
        "input": nir.Input(input_type=np.array([1, 8, 8])),
        "conv1": nir.Conv2d(input_shape=(8, 8), weight=rng.normal(0.25, 0.5, (2, 1, 3, 3)),
                            stride=1, padding=1, dilation=1, groups=1,
                            bias=np.array([0.05, -0.05])),
        "lif": nir.LIF(tau=full(s1, 10 * ms_), r=full(s1, 8.0), v_leak=full(s1, 0.0),
                       v_threshold=full(s1, 1.0), v_reset=full(s1, 0.0)),
        "sumpool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                 padding=np.array([0, 0])),
        "conv2": nir.Conv2d(input_shape=(4, 4), weight=rng.normal(0.05, 0.3, (3, 2, 3, 3)),
                            stride=1, padding=1, dilation=1, groups=1,
                            bias=np.zeros(3)),
        "cuba": nir.CubaLIF(tau_syn=full(s2, 5 * ms_), tau_mem=full(s2, 20 * ms_),
                            r=full(s2, 4.0), v_leak=full(s2, 0.0), v_threshold=full(s2, 1.0),
                            v_reset=full(s2, 0.0), w_in=full(s2, 1.5)),
        "avgpool": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                 padding=np.array([0, 0])),
        "flatten": nir.Flatten(input_type=np.array([3, 2, 2]), start_dim=0, end_dim=-1),
        "affine": nir.Affine(weight=rng.normal(0.15, 0.6, (10, 12)), bias=rng.normal(0, 0.05, 10)),
        "if": nir.IF(r=full(s3, 150.0), v_threshold=full(s3, 1.0), v_reset=full(s3, 0.0)),
        "delay": nir.Delay(delay=rng.integers(1, 3, 10) * ms_),
        "scale": nir.Scale(scale=rng.uniform(0.5, 1.5, 10)),
        "linear": nir.Linear(weight=readout - readout.mean(axis=1, keepdims=True)),
        "li": nir.LI(tau=full((4,), 15 * ms_), r=full((4,), 1.0), v_leak=full((4,), 0.0)),
        "output": nir.Output(output_type=np.array([4])),
    }
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])),
                        metadata={"source": "bioSNN demo graph", "seed": int(seed)})


# ---------------------------------------------------------------------------------------
# lowering: graph -> layers and composed connections
# ---------------------------------------------------------------------------------------
@dataclass
class Layer:
    """One neuron node, flattened (C-order, as ``torch.flatten``).

    ``kind`` is the NIR type; ``params`` holds float64 arrays ``(n,)`` (``tau``, ``r``,
    ``v_leak``, ``v_threshold``, ``v_reset``, ``tau_syn``, ``tau_mem``, ``w_in`` as the
    node has them; time constants in seconds after the tau convention); ``reset`` the
    reset rule in force; ``coef`` the per-step update coefficients (:func:`coefficients`).
    """

    name: str
    kind: str
    shape: tuple
    params: dict
    reset: str = "value"
    coef: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(np.prod(self.shape))

    @property
    def spiking(self) -> bool:
        return self.kind != "LI"


@dataclass
class Term:
    """Input of ``target`` from ``source``: ``matrix`` (scipy CSR, ``(n_target,
    n_source)``) applied to the source's output ``delay`` steps earlier."""

    source: str
    target: str
    matrix: object
    delay: int = 0


@dataclass
class Plan:
    """A lowered graph: the input node, neuron layers in topological order, the terms of
    every layer and output, constant bias currents, and the graph step (seconds)."""

    input: str
    input_shape: tuple
    layers: dict
    terms: list
    bias: dict
    outputs: dict
    flavour: str
    graph_dt_s: float

    def terms_to(self, target: str) -> list:
        return [t for t in self.terms if t.target == target]


def _type(node) -> str:
    return type(node).__name__


def _arr(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _pair(x) -> tuple[int, int]:
    a = np.asarray(x).ravel()
    return (int(a[0]), int(a[-1])) if a.size else (0, 0)


def _topological(graph) -> tuple[list[str], dict]:
    """Nodes in topological order and each node's predecessors; a cycle is an error."""
    preds = {k: [] for k in graph.nodes}
    for a, b in graph.edges:
        if a not in graph.nodes or b not in graph.nodes:
            raise BioSNNError(f"NIR graph edge ({a!r}, {b!r}) names a node that is not in "
                              "the graph")
        preds[b].append(a)
    order, state = [], {}

    def visit(k, path):
        if state.get(k) == 2:
            return
        if state.get(k) == 1:
            raise BioSNNError(f"NIR graph has a cycle through node {k!r} (recurrent edges "
                              "are not supported by nir-replay)")
        state[k] = 1
        for p in preds[k]:
            visit(p, path + [k])
        state[k] = 2
        order.append(k)

    for k in graph.nodes:
        visit(k, [])
    return order, preds


def _conv_out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _conv_padding(node, k):
    pad = node.padding
    if isinstance(pad, str):
        if pad == "valid":
            return (0, 0)
        if any(s != 1 for s in _pair(node.stride)):
            raise BioSNNError("Conv2d padding 'same' needs stride 1")
        d = _pair(node.dilation)
        return tuple((d[i] * (k[i] - 1)) // 2 for i in range(2))
    return _pair(pad)


def _shape_of(name, node, in_shape):
    """Output shape of a node given its input shape (unbatched)."""
    t = _type(node)
    if t in NEURONS or t in ("Scale", "Delay", "Identity", "Output"):
        return in_shape
    if t in ("Affine", "Linear"):
        return (int(_arr(node.weight).shape[0]),)
    if t == "Flatten":
        nd = len(in_shape)
        a = node.start_dim % nd if nd else 0
        b = node.end_dim % nd if nd else 0
        return tuple(in_shape[:a]) + (int(np.prod(in_shape[a:b + 1])),) + tuple(in_shape[b + 1:])
    if t == "Conv2d":
        w = _arr(node.weight)
        k = w.shape[2:]
        if isinstance(node.padding, str) and node.padding == "same":
            _conv_padding(node, k)  # checks the stride
            return (w.shape[0],) + tuple(in_shape[1:])
        s, d, p = _pair(node.stride), _pair(node.dilation), _conv_padding(node, k)
        return (w.shape[0],) + tuple(_conv_out(in_shape[1 + i], k[i], s[i], p[i], d[i])
                                     for i in range(2))
    if t in ("SumPool2d", "AvgPool2d"):
        k, s, p = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
        return (in_shape[0],) + tuple(_conv_out(in_shape[1 + i], k[i], s[i], p[i], 1)
                                      for i in range(2))
    raise AssertionError(t)


def _unsupported(name, node):
    return BioSNNError(f"NIR node {name!r} ({_type(node)}) cannot be expressed by "
                       f"nir-replay; supported node types: {', '.join(SUPPORTED_NODES)}")


def _conv_matrix(node, in_shape, out_shape):
    """Sparse ``(n_out, n_in)`` matrix of a Conv2d (cross-correlation, zero padding)."""
    from scipy import sparse

    w = _arr(node.weight)
    co, cig, kh, kw = w.shape
    groups = int(node.groups)
    ci, h, wd = in_shape
    _, ho, wo = out_shape
    s, d, p = _pair(node.stride), _pair(node.dilation), _conv_padding(node, (kh, kw))
    o, c, i, j, y, x = np.meshgrid(np.arange(co), np.arange(cig), np.arange(kh), np.arange(kw),
                                   np.arange(ho), np.arange(wo), indexing="ij", sparse=True)
    yi = y * s[0] - p[0] + i * d[0]
    xi = x * s[1] - p[1] + j * d[1]
    cin = (o // (co // groups)) * cig + c
    full = (co, cig, kh, kw, ho, wo)
    valid = np.broadcast_to((yi >= 0) & (yi < h) & (xi >= 0) & (xi < wd), full)
    rows = np.broadcast_to((o * ho + y) * wo + x, full)[valid]
    cols = np.broadcast_to((cin * h + yi) * wd + xi, full)[valid]
    vals = np.broadcast_to(w[o, c, i, j], full)[valid]
    return sparse.csr_matrix((vals, (rows, cols)), shape=(co * ho * wo, ci * h * wd))


def _pool_matrix(node, in_shape, out_shape, average):
    from scipy import sparse

    k, s, p = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
    c, h, w = in_shape
    _, ho, wo = out_shape
    ch, y, x, i, j = np.meshgrid(np.arange(c), np.arange(ho), np.arange(wo), np.arange(k[0]),
                                 np.arange(k[1]), indexing="ij")
    yi, xi = y * s[0] - p[0] + i, x * s[1] - p[1] + j
    valid = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
    rows = ((ch * ho + y) * wo + x)[valid]
    cols = ((ch * h + yi) * w + xi)[valid]
    # torch's AvgPool2d default count_include_pad=True: divide by the full window
    vals = np.full(rows.shape, 1.0 / (k[0] * k[1]) if average else 1.0)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(c * ho * wo, c * h * w))


def _linear_map(name, node, in_shape, out_shape):
    """``(matrix or None for identity, bias or None)`` of a linear node."""
    from scipy import sparse

    t = _type(node)
    n_in = int(np.prod(in_shape))
    if t in ("Flatten", "Identity"):
        return None, None
    if t == "Scale":
        return sparse.diags(np.broadcast_to(_arr(node.scale), in_shape).ravel()).tocsr(), None
    if t in ("Affine", "Linear"):
        w = _arr(node.weight)
        if w.ndim != 2 or w.shape[1] != n_in:
            raise BioSNNError(f"NIR node {name!r} ({t}): weight {w.shape} does not take an "
                              f"input of {n_in} values {tuple(in_shape)}")
        return sparse.csr_matrix(w), (_arr(node.bias).ravel() if t == "Affine" else None)
    if t == "Conv2d":
        if len(in_shape) != 3:
            raise BioSNNError(f"NIR node {name!r} (Conv2d) needs a (C, H, W) input, got "
                              f"{tuple(in_shape)}")
        b = np.repeat(_arr(node.bias).ravel(), int(np.prod(out_shape[1:])))
        return _conv_matrix(node, in_shape, out_shape), b
    if t in ("SumPool2d", "AvgPool2d"):
        return _pool_matrix(node, in_shape, out_shape, t == "AvgPool2d"), None
    raise AssertionError(t)


def _neuron_params(name, node, shape, graph_dt_s, tau_convention):
    t = _type(node)
    keys = {"LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
            "IF": ("r", "v_threshold", "v_reset"),
            "LI": ("tau", "r", "v_leak"),
            "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in")}[t]
    out = {}
    for k in keys:
        value = getattr(node, k, None)
        if value is None:
            value = 0.0 if k in ("v_reset", "v_leak") else 1.0
        try:
            out[k] = np.broadcast_to(_arr(value), shape).astype(np.float64).ravel().copy()
        except ValueError:
            raise BioSNNError(f"NIR node {name!r} ({t}): {k} of shape {np.shape(value)} does "
                              f"not fit the layer shape {tuple(shape)}") from None
    for k in ("tau", "tau_syn", "tau_mem"):
        if k in out:
            if tau_convention == "norse-to_nir":
                out[k] = out[k] / graph_dt_s
            if not np.all(out[k] > 0):
                raise BioSNNError(f"NIR node {name!r} ({t}): {k} must be > 0")
    out.setdefault("v_leak", np.zeros(int(np.prod(shape))))
    out.setdefault("v_threshold", np.full(int(np.prod(shape)), np.inf))
    out.setdefault("v_reset", np.zeros(int(np.prod(shape))))
    return out


def coefficients(kind: str, p: dict, flavour: str, dt: float) -> dict:
    r"""Per-step update coefficients of a neuron layer (arrays ``(n,)``).

    The update of every neuron type and flavour has one form (``docs/nir.md``), with
    input ``x`` (the step's summed synaptic input and bias) and synaptic current ``i``
    (CubaLIF only; 0 otherwise):

    .. math::

        v &\leftarrow v_{leak} + a\,(v - v_{leak}) + c_{vi}\, i + c_{vx}\, x \\
        i &\leftarrow a_s\, i + c_{ix}\, x

    (``v`` uses the ``i`` of the previous step.)

    Parameters
    ----------
    kind : str
        ``"LIF"``, ``"IF"``, ``"LI"`` or ``"CubaLIF"``.
    p : dict
        The layer's parameters (:class:`Layer` ``params``, time constants in seconds).
    flavour : str
        One of :data:`FLAVOURS`.
    dt : float
        The graph step in seconds.

    Returns
    -------
    dict
        ``a``, ``c_vi``, ``c_vx``, ``a_s``, ``c_ix``.
    """
    n = len(p["r"])
    zero, one = np.zeros(n), np.ones(n)
    r = p["r"]
    if kind in ("LIF", "LI"):
        tau = p["tau"]
        if flavour == "exact":
            a = np.exp(-dt / tau)
            g = (1.0 - a) * r
        else:  # forward Euler (snnTorch and Norse)
            a = 1.0 - dt / tau
            g = dt / tau * r
        return {"a": a, "c_vi": zero, "c_vx": g, "a_s": zero, "c_ix": zero}
    if kind == "IF":
        g = r if flavour == "norse" else r * dt  # Norse's IAFCell adds its input as is
        return {"a": one, "c_vi": zero, "c_vx": g, "a_s": zero, "c_ix": zero}
    if kind == "CubaLIF":
        ts, tm, w_in = p["tau_syn"], p["tau_mem"], p["w_in"]
        if flavour == "exact":
            a_s, a = np.exp(-dt / ts), np.exp(-dt / tm)
            same = np.isclose(ts, tm, rtol=1e-9, atol=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                kappa = np.where(same, dt / tm * a, ts / np.where(same, 1, ts - tm) * (a_s - a))
            return {"a": a, "c_vi": r * kappa, "c_vx": r * w_in * (1.0 - a - kappa),
                    "a_s": a_s, "c_ix": (1.0 - a_s) * w_in}
        a_s, a = 1.0 - dt / ts, 1.0 - dt / tm
        g = dt / tm * r
        if flavour == "snntorch":  # I = a_s I + (dt/tau_s) w_in x, then v with the new I
            c_ix = dt / ts * w_in
            return {"a": a, "c_vi": g * a_s, "c_vx": g * c_ix, "a_s": a_s, "c_ix": c_ix}
        # norse (LIFCell): j = i + w_in x; v with j; i = a_s j
        return {"a": a, "c_vi": g, "c_vx": g * w_in, "a_s": a_s, "c_ix": a_s * w_in}
    raise AssertionError(kind)


def _graph_dt(flavour: str, graph_dt_s: float | None, dt_s: float) -> float:
    if graph_dt_s:
        return float(graph_dt_s)
    return DEFAULT_GRAPH_DT_S.get(flavour, dt_s)


def lower(graph, flavour: str = "exact", *, reset: str = "auto", graph_dt_s: float | None = None,
          dt_s: float = 1e-3, tau_convention: str = "nir") -> Plan:
    """Lower a NIR graph to neuron layers and composed connections.

    Linear nodes between two neuron nodes (or the input and a neuron) are composed into
    one sparse matrix per (source, target, delay); Delay nodes become whole steps of
    synaptic delay; biases become constant currents.

    Parameters
    ----------
    graph : nir.NIRGraph
    flavour : str
        One of :data:`FLAVOURS`.
    reset : str
        One of :data:`RESETS`.
    graph_dt_s : float, optional
        Integration step of the graph in seconds (default: :data:`DEFAULT_GRAPH_DT_S`,
        ``dt_s`` for ``"exact"``).
    dt_s : float
        The replay's step (used for ``"exact"`` without ``graph_dt_s``).
    tau_convention : str
        One of :data:`TAU_CONVENTIONS`.

    Raises
    ------
    BioSNNError
        A node that cannot be expressed (named), a cycle, shapes that do not fit.
    """
    from scipy import sparse

    if flavour not in FLAVOURS:
        raise BioSNNError(f"flavour must be one of {', '.join(FLAVOURS)}, got {flavour!r}")
    if reset not in RESETS:
        raise BioSNNError(f"reset must be one of {', '.join(RESETS)}, got {reset!r}")
    dt = _graph_dt(flavour, graph_dt_s, dt_s)
    order, preds = _topological(graph)
    for k in order:
        if _type(graph.nodes[k]) not in SUPPORTED_NODES:
            raise _unsupported(k, graph.nodes[k])
    inputs = [k for k in order if _type(graph.nodes[k]) == "Input"]
    if len(inputs) != 1:
        raise BioSNNError(f"nir-replay needs exactly one Input node, the graph has "
                          f"{len(inputs)}")
    in_name = inputs[0]
    in_shape = tuple(int(v) for v in np.asarray(graph.nodes[in_name].input_type["input"]).ravel())
    shapes, signal = {}, {}
    layers, terms, bias, outputs = {}, [], {}, {}

    def merged(k):
        """Summed input signal of node k: {(source, delay): matrix}, bias vector."""
        if not preds[k]:
            raise BioSNNError(f"NIR node {k!r} ({_type(graph.nodes[k])}) has no input edge")
        in_shapes = {shapes[p] for p in preds[k]}
        if len({int(np.prod(sh)) for sh in in_shapes}) != 1:
            raise BioSNNError(f"NIR node {k!r}: its inputs have different shapes "
                              f"{sorted(in_shapes)}")
        acc, b = {}, None
        for p in preds[k]:
            t_p, b_p = signal[p]
            for key, m in t_p.items():
                acc[key] = m if key not in acc else acc[key] + m
            if b_p is not None:
                b = b_p if b is None else b + b_p
        return acc, b, shapes[preds[k][0]]

    for k in order:
        node = graph.nodes[k]
        t = _type(node)
        if t == "Input":
            shapes[k] = in_shape
            n = int(np.prod(in_shape))
            signal[k] = ({(k, 0): sparse.identity(n, format="csr")}, None)
            continue
        acc, b, sh = merged(k)
        n_in = int(np.prod(sh))
        if t in NEURONS:
            shapes[k] = sh
            prm = _neuron_params(k, node, sh, dt, tau_convention)
            layer = Layer(k, t, sh, prm, reset=_reset_rule(node, t, flavour, reset))
            layer.coef = coefficients(t, prm, flavour, dt)
            layers[k] = layer
            for (src, d), m in acc.items():
                terms.append(Term(src, k, m.tocsr(), d))
            bias[k] = np.zeros(n_in) if b is None else b
            signal[k] = ({(k, 0): sparse.identity(n_in, format="csr")}, None)
        elif t == "Output":
            shapes[k] = sh
            outputs[k] = ([Term(src, k, m.tocsr(), d) for (src, d), m in acc.items()],
                          np.zeros(n_in) if b is None else b)
        elif t == "Delay":
            shapes[k] = sh
            steps = np.broadcast_to(_arr(node.delay), sh).ravel() / dt
            whole = np.rint(steps)
            if np.any(np.abs(steps - whole) > 1e-6) or np.any(whole < 0):
                raise BioSNNError(f"NIR node {k!r} (Delay) cannot be expressed: its delays "
                                  f"must be non-negative multiples of the graph step "
                                  f"{dt * 1e3:g} ms")
            whole = whole.astype(np.int64)
            out = {}
            for (src, d), m in acc.items():
                for value in np.unique(whole):
                    mask = sparse.diags((whole == value).astype(np.float64))
                    part = (mask @ m).tocsr()
                    part.eliminate_zeros()
                    if part.nnz:
                        key = (src, d + int(value))
                        out[key] = part if key not in out else out[key] + part
            signal[k] = (out, b)
        else:  # a linear node
            try:
                shapes[k] = _shape_of(k, node, sh)
            except (IndexError, ValueError, TypeError):
                raise BioSNNError(f"NIR node {k!r} ({t}) does not fit its input shape "
                                  f"{tuple(sh)}") from None
            mat, b_k = _linear_map(k, node, sh, shapes[k])
            if mat is None:
                signal[k] = (acc, b)
                continue
            out = {key: (mat @ m).tocsr() for key, m in acc.items()}
            bb = None if b is None else mat @ b
            if b_k is not None:
                bb = b_k if bb is None else bb + b_k
            signal[k] = (out, bb)
    if not outputs:
        raise BioSNNError("the NIR graph has no Output node")
    return Plan(input=in_name, input_shape=in_shape, layers=layers, terms=terms, bias=bias,
                outputs=outputs, flavour=flavour, graph_dt_s=dt)


# ---------------------------------------------------------------------------------------
# independent NumPy integration of the graph, node by node
# ---------------------------------------------------------------------------------------
def _np_conv(x, node):
    """Cross-correlation of ``(B, C, H, W)`` with a Conv2d node, tap by tap."""
    w = _arr(node.weight)
    co, cig, kh, kw = w.shape
    groups = int(node.groups)
    s, d, p = _pair(node.stride), _pair(node.dilation), _conv_padding(node, (kh, kw))
    if isinstance(node.padding, str) and node.padding == "same":  # extra pad right/bottom
        extra = [d[0] * (kh - 1) - 2 * p[0], d[1] * (kw - 1) - 2 * p[1]]
        ho, wo = x.shape[2:]
    else:
        extra = [0, 0]
        ho = _conv_out(x.shape[2], kh, s[0], p[0], d[0])
        wo = _conv_out(x.shape[3], kw, s[1], p[1], d[1])
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0] + extra[0]), (p[1], p[1] + extra[1])))
    out = np.zeros((x.shape[0], co, ho, wo))
    per = co // groups
    for g in range(groups):
        xs = xp[:, g * cig:(g + 1) * cig]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * d[0]: i * d[0] + s[0] * (ho - 1) + 1: s[0],
                           j * d[1]: j * d[1] + s[1] * (wo - 1) + 1: s[1]]
                out[:, g * per:(g + 1) * per] += np.einsum("oc,bchw->bohw",
                                                           w[g * per:(g + 1) * per, :, i, j], patch)
    return out + _arr(node.bias).reshape(1, -1, 1, 1)


def _np_pool(x, node, average):
    k, s, p = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    ho = _conv_out(x.shape[2], k[0], s[0], p[0], 1)
    wo = _conv_out(x.shape[3], k[1], s[1], p[1], 1)
    out = np.zeros(x.shape[:2] + (ho, wo))
    for i in range(k[0]):
        for j in range(k[1]):
            out += xp[:, :, i: i + s[0] * (ho - 1) + 1: s[0], j: j + s[1] * (wo - 1) + 1: s[1]]
    return out / (k[0] * k[1]) if average else out


def _np_neuron(kind, p, flavour, dt, reset, x, state):
    """One step of a neuron node, written from each framework's own update (not from
    :func:`coefficients`). ``state`` holds ``v``, ``i``, ``s`` (last spikes)."""
    v, i, s_prev = state["v"], state["i"], state["s"]
    vl, th = p.get("v_leak", 0.0), p.get("v_threshold", np.inf)
    if kind in ("LIF", "LI"):
        tau, r = p["tau"], p["r"]
        if flavour == "exact":  # exact solution with x held over the step
            v = vl + (v - vl) * np.exp(-dt / tau) + r * x * (1 - np.exp(-dt / tau))
        else:  # forward Euler: tau dv/dt = (v_leak - v) + R x
            v = v + dt / tau * ((vl - v) + r * x)
    elif kind == "IF":
        v = v + (p["r"] * x if flavour == "norse" else p["r"] * x * dt)
    elif kind == "CubaLIF":
        ts, tm, r, w_in = p["tau_syn"], p["tau_mem"], p["r"], p["w_in"]
        if flavour == "snntorch":
            i = i + dt / ts * (-i + w_in * x)
            v = v + dt / tm * ((vl - v) + r * i)
        elif flavour == "norse":
            j = i + w_in * x
            v = v + dt / tm * ((vl - v) + r * j)
            i = j - dt / ts * j
        else:  # exact: matrix exponential of the linear system (v - v_leak, i, x)
            from scipy.linalg import expm

            new_v, new_i = np.empty_like(v), np.empty_like(i)
            for (ts_, tm_, r_, w_), idx in _groups(ts, tm, r, w_in):
                A = np.array([[-1 / tm_, r_ / tm_, 0.0], [0.0, -1 / ts_, w_ / ts_],
                              [0.0, 0.0, 0.0]])
                E = expm(A * dt)
                vec = np.stack([v[..., idx] - vl[idx], i[..., idx], x[..., idx]])
                out = np.tensordot(E, vec, axes=1)
                new_v[..., idx], new_i[..., idx] = out[0] + vl[idx], out[1]
            v, i = new_v, new_i
    if kind == "LI":
        return v, {"v": v, "i": i, "s": s_prev}
    if reset == "subtract":
        v = v - th * s_prev
    spikes = (v > th).astype(np.float64)
    if reset == "value":
        v = np.where(spikes > 0, p["v_reset"], v)
    return spikes, {"v": v, "i": i, "s": spikes}


def _groups(*arrays):
    """Indices of equal parameter tuples (for the per-neuron matrix exponential)."""
    keys = np.stack(arrays, axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    return [(tuple(u), np.flatnonzero(inv.ravel() == g)) for g, u in enumerate(uniq)]


def _reset_rule(node, kind, flavour, reset):
    if kind == "LI":
        return "none"
    if reset != "auto":
        return reset
    rule = (getattr(node, "metadata", None) or {}).get("reset")
    return rule if rule in ("subtract", "value") else (
        "subtract" if flavour == "snntorch" else "value")


def reference_run(graph, x: np.ndarray, flavour: str = "exact", *, reset: str = "auto",
                  graph_dt_s: float | None = None, dt_s: float = 1e-3,
                  tau_convention: str = "nir") -> dict:
    """Integrate a NIR graph in NumPy (float64), node by node, step by step.

    Within a step, nodes are evaluated in topological order (a spike reaches the next
    layer in the same step, as in snnTorch and Norse); a Delay node outputs its input of
    ``delay / dt`` steps earlier.

    Parameters
    ----------
    graph : nir.NIRGraph
    x : numpy.ndarray
        Input ``(N, T, *input_shape)``.
    flavour, reset, graph_dt_s, dt_s, tau_convention
        As :func:`lower`.

    Returns
    -------
    dict of str to numpy.ndarray
        Every node's output ``(N, T, n)`` (flattened): spikes (0/1) of spiking neurons,
        the membrane of LI nodes, the values of linear nodes and outputs.
    """
    dt = _graph_dt(flavour, graph_dt_s, dt_s)
    order, preds = _topological(graph)
    for k in order:
        if _type(graph.nodes[k]) not in SUPPORTED_NODES:
            raise _unsupported(k, graph.nodes[k])
    x = np.asarray(x, dtype=np.float64)
    N, T = x.shape[:2]
    params, states, history, rules = {}, {}, {}, {}
    rec = {k: [] for k in order}
    for t in range(T):
        val = {}
        for k in order:
            node = graph.nodes[k]
            typ = _type(node)
            if typ == "Input":
                val[k] = x[:, t]
                rec[k].append(val[k].reshape(N, -1))
                continue
            u = sum(val[p] for p in preds[k])
            if typ in NEURONS:
                if k not in params:  # neurons flattened: (N, n)
                    params[k] = _neuron_params(k, node, u.shape[1:], dt, tau_convention)
                    z = np.zeros((N, u[0].size))
                    states[k] = {"v": z + params[k]["v_leak"], "i": z.copy(),
                                 "s": z.copy()}  # at rest
                    rules[k] = _reset_rule(node, typ, flavour, reset)
                out, states[k] = _np_neuron(typ, params[k], flavour, dt, rules[k],
                                            u.reshape(N, -1), states[k])
                out = out.reshape(u.shape)
            elif typ in ("Affine", "Linear"):
                out = u.reshape(N, -1) @ _arr(node.weight).T
                if typ == "Affine":
                    out = out + _arr(node.bias)
            elif typ == "Scale":
                out = u * _arr(node.scale)
            elif typ == "Conv2d":
                out = _np_conv(u, node)
            elif typ in ("SumPool2d", "AvgPool2d"):
                out = _np_pool(u, node, typ == "AvgPool2d")
            elif typ == "Flatten":
                out = u.reshape((N,) + _shape_of(k, node, u.shape[1:]))
            elif typ == "Delay":
                d = np.rint(np.broadcast_to(_arr(node.delay), u.shape[1:]) / dt).astype(int)
                history.setdefault(k, []).append(u)
                past = history[k]
                out = np.zeros_like(u)
                for value in np.unique(d):
                    if len(past) > value:
                        out = np.where(d == value, past[-1 - value], out)
            else:  # Identity, Output
                out = u
            val[k] = out
            rec[k].append(np.asarray(out).reshape(N, -1))
    return {k: np.stack(v, axis=1) for k, v in rec.items()}


def readout(plan: Plan, values: dict, output: str | None = None) -> np.ndarray:
    """The value of an Output node ``(N, T, n_out)`` from the recorded outputs of the
    plan's sources (``values[source]``: ``(N, T, n)``), composed as the plan says."""
    name = output or next(iter(plan.outputs))
    terms, b = plan.outputs[name]
    out = None
    for term in terms:
        y = values[term.source]
        if term.delay:
            y = np.concatenate([np.zeros_like(y[:, :term.delay]), y[:, :-term.delay]], axis=1)
        part = np.einsum("ntj,ij->nti", y, term.matrix.toarray())
        out = part if out is None else out + part
    return out + b


def decisions(output_values: np.ndarray) -> np.ndarray:
    """Output decision of each sample: the output unit with the largest time-summed value
    (spike count of a spiking output; summed membrane of an LI output); int ``(N,)``."""
    return np.asarray(output_values).sum(axis=1).argmax(axis=1).astype(np.int64)
