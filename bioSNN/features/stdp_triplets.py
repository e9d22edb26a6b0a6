"""Features of a spike-triplet run (``stdp-triplets``, Wang et al. 2005). Pure functions."""
from __future__ import annotations

import xarray as xr

__all__ = ["PATTERNS", "triplet_features"]

#: The triplets, in the order of the run's synapses.
PATTERNS = ("pre-post-pre", "post-pre-post")


def triplet_features(data: xr.Dataset) -> dict:
    """``dw_percent_pre_post_pre``, ``dw_percent_post_pre_post``, their difference
    ``asymmetry_percent`` (post-pre-post minus pre-post-pre), ``clipped`` and ``timing``."""
    dw = dict(zip([str(x) for x in data["pattern"].values], data["dw_percent"].values))
    ppp, pop = float(dw["pre-post-pre"]), float(dw["post-pre-post"])
    return {"dw_percent_pre_post_pre": ppp, "dw_percent_post_pre_post": pop,
            "asymmetry_percent": pop - ppp, "clipped": bool(data.attrs.get("clipped", False)),
            "timing": str(data.attrs.get("timing", ""))}
