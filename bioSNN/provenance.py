"""Provenance of a run: what ran, with which code and versions, where, for how long."""
from __future__ import annotations

import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

__all__ = ["package_versions", "git_state", "utc_now"]

_PACKAGES = ("bioSNN", "brian2", "numpy", "scipy", "torch", "snntorch", "xarray")


def package_versions() -> dict[str, str | None]:
    """Installed versions (from package metadata: nothing is imported)."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = platform.python_version()
    return out


def git_state() -> dict[str, str | bool | None]:
    """Commit and dirtiness of the bioSNN source tree (None outside a git checkout)."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def command_line() -> str:
    return " ".join(sys.argv)
