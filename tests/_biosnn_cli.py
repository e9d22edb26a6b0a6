"""The ``biosnn`` command in a real subprocess, as a user runs it: shared by the CLI
acceptance tests and the external-protocol tests."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

BIN = Path(sys.executable).with_name("biosnn")
#: the installed console script, or the package run as a module where it is not installed
COMMAND = [str(BIN)] if BIN.is_file() else [sys.executable, "-m", "bioSNN"]


def biosnn(*argv, tty=False, cwd=None, pythonpath=None, timeout=900):
    """Run ``biosnn ARGV`` as a user would (no stdin); returns (code, stdout, stderr).

    With ``tty``, stderr is a pseudo-terminal (stdout stays a pipe). ``pythonpath``
    (folders) sets ``PYTHONPATH`` for the command.
    """
    cmd = [*COMMAND, *map(str, argv)]
    env = None
    if pythonpath is not None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, pythonpath)))
    if not tty:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                           env=env, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                         cwd=cwd, env=env)
    os.close(slave)
    try:
        out, _ = p.communicate(timeout=timeout)
    finally:
        p.kill() if p.poll() is None else None
        reader.join(timeout=10)
        os.close(master)
    return p.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


def one_line_error(capsys, argv) -> str:
    """``biosnn argv`` in this process (``bioSNN.cli.main``) must exit 2 with exactly one
    ``biosnn: error: ...`` line on stderr and nothing on stdout; returns that line."""
    from bioSNN.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("biosnn: error: "), err
    return lines[0]
