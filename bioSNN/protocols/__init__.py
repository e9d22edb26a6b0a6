"""The protocol engine: spec loading and validation, the kind registry, and one
module per protocol kind (``lif_fi_curve``, ``izhikevich_patterns``,
``lif_poisson_trace``)."""
from .base import Protocol
from .registry import get_kind, kind_names, register
from .spec import ProtocolSpec, find_spec, list_specs, load_spec, parse_spec

__all__ = ["Protocol", "ProtocolSpec", "find_spec", "list_specs", "load_spec", "parse_spec",
           "get_kind", "kind_names", "register"]
