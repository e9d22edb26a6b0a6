"""Exceptions that carry a message meant for the researcher, not a traceback.

Every error raised for bad *input* (a spec file, a ``--set`` override, a missing
dataset, a checkpoint that does not fit) derives from :class:`BioSNNError`. The CLI
prints ``str(error)`` on one line and exits with status 2; library users can catch
the base class.
"""
from __future__ import annotations

import errno
from contextlib import contextmanager


class BioSNNError(Exception):
    """Base class for user-facing errors (bad input, missing data...)."""


class SpecError(BioSNNError):
    """A protocol spec (file, override or parameter) is invalid.

    Parameters
    ----------
    source : str
        Where the spec came from (a file path, ``--set`` or ``<spec>``).
    field : str or None
        Dotted field name, e.g. ``parameters.tau_m``.
    message : str
        What is wrong and what is expected.
    """

    def __init__(self, source: str, field: str | None, message: str):
        self.source = source
        self.field = field
        self.message = message
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")


class UnknownProtocolError(BioSNNError):
    """No protocol spec with the requested name exists."""


class DataNotFoundError(BioSNNError):
    """A dataset was not found where bioSNN looked for it."""


class OutputError(BioSNNError):
    """A results, figures or report folder cannot be created or written (no permission,
    not a folder, a full disk)."""


@contextmanager
def writing_to(folder, what: str = "results folder (--out)"):
    """Turn an ``OSError`` raised while creating or writing ``folder`` into one
    :class:`OutputError` naming the folder, the option that chose it and the fix.

    Keep the block narrow (folder creation and file writes only), so that other
    ``OSError``\\ s keep their meaning.
    """
    try:
        yield
    except OSError as err:
        reason = err.strerror or type(err).__name__
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            fix = "free some space, or choose another folder"
        else:
            fix = "choose a folder you can write to"
        raise OutputError(f"{what} {folder}: cannot write there ({reason}); {fix}") from None
