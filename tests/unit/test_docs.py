"""The documentation holds together: README is a front door whose two commands are the ones CI
runs, and every relative link in README, the changelog and docs/ reaches a file and a heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ocr_local.template import PROJECT_ROOT

DOCUMENTS = sorted([PROJECT_ROOT / "README.md", PROJECT_ROOT / "CHANGELOG.md", *(PROJECT_ROOT / "docs").rglob("*.md")])
# [text](target) outside code; images too.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def links_of(document: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", document.read_text(encoding="utf-8")))
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def anchors_of(document: Path) -> set[str]:
    """The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces
    as hyphens, a repeated heading numbered."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", FENCE.sub("", document.read_text(encoding="utf-8")), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def test_the_documents_exist_and_have_links_to_check():
    assert {path.relative_to(PROJECT_ROOT).as_posix() for path in DOCUMENTS} >= {
        "README.md",
        "CHANGELOG.md",
        "docs/testing.md",
        "docs/api/tencent.md",
    }
    assert len(links_of(PROJECT_ROOT / "README.md")) >= 20


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(PROJECT_ROOT).as_posix())
def test_every_relative_link_resolves(document: Path):
    broken = []
    for target in links_of(document):
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors_of(resolved):
            broken.append(f"{target}: no such heading")
    assert not broken, broken


def test_readme_is_a_front_door():
    assert len((PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


def test_readmes_two_commands_are_the_ones_ci_runs():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^```sh\n(scripts/\S+\.sh)\n```", readme, re.M)
    assert commands == ["scripts/serve.sh", "scripts/test.sh"]
    ci_steps = [line.strip() for line in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()]
    assert "scripts/test.sh" in ci_steps
    # The serve script starts the local server; the test script runs the suite.
    assert "-m ocr_local serve" in (PROJECT_ROOT / "scripts" / "serve.sh").read_text()
    assert "-m pytest" in (PROJECT_ROOT / "scripts" / "test.sh").read_text()
