"""The README and docs/ stay true to the code: every protocol in the catalogue, every
command documented, every relative link pointing at a file that exists."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import bioSNN as bs
from bioSNN.cli import build_parser

REPO = Path(__file__).parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_readme_catalogue_lists_every_protocol_with_its_kind():
    readme = (REPO / "README.md").read_text()
    for name in bs.list_protocols():
        spec = bs.spec(name)
        assert re.search(rf"^\| `{re.escape(name)}` \| `{re.escape(spec.kind)}` \|", readme, re.M), name


def test_every_command_is_documented():
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    cli = (REPO / "docs" / "cli.md").read_text()
    api = (REPO / "docs" / "python-api.md").read_text()
    for command in commands:
        assert f"biosnn {command}" in cli, command
        if command != "list":
            assert f"biosnn {command}" in api, command


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
