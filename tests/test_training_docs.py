"""The usage example of docs/training.md runs as printed (test what the user runs)."""
from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).parents[1] / "docs" / "training.md"


def test_training_page_example_runs(one_torch_thread, capsys):
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], str(PAGE), "exec"), {})
    assert capsys.readouterr().out.strip() == "torch.Size([8]) True"
