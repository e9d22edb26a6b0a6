"""The protocol engine (spec loading and validation, the kind registry, the base classes)
and one module per built-in protocol kind.

What a protocol kind defined outside bioSNN imports::

    from bioSNN.protocols import BrianProtocol, ParamConflict, param, register
"""
from .base import BrianProtocol, Protocol, RunContext, TorchProtocol
from .registry import get_kind, kind_names, register
from .schema import param
from .spec import ParamConflict, ProtocolSpec, find_spec, list_specs, load_spec, parse_spec

__all__ = ["Protocol", "BrianProtocol", "TorchProtocol", "RunContext", "ProtocolSpec",
           "ParamConflict", "param", "find_spec", "list_specs", "load_spec", "parse_spec",
           "get_kind", "kind_names", "register"]
