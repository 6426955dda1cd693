"""What a user sees of the package before running it: a LICENSE, project URLs, and the
progress-display decision written down (#11)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = (ROOT / "pyproject.toml").read_text()  # tomllib is Python 3.11+; the SDK supports 3.10


def _table(name: str) -> str:
    """The body of one ``[name]`` table of pyproject.toml."""
    match = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", PYPROJECT, re.M | re.S)
    assert match is not None, name
    return match.group(1)


def test_license_file_matches_the_declared_license() -> None:
    """LICENSE exists, is the MIT text, and pyproject declares MIT."""
    text = (ROOT / "LICENSE").read_text()
    assert "MIT License" in text and "Permission is hereby granted" in text
    assert re.search(r'^license = \{ text = "MIT" \}', _table("project"), re.M)


def test_project_urls() -> None:
    """pyproject names the homepage, repository, changelog and issue tracker."""
    urls = dict(re.findall(r'^(\w+) = "(https://[^"]+)"', _table("project.urls"), re.M))
    assert {"Homepage", "Repository", "Changelog", "Issues"} <= urls.keys()


def test_progress_display_decision_is_written_down() -> None:
    """DECISIONS.md records why the CLI has no rich/tqdm extra, and the fallback it keeps."""
    arch = (ROOT / "DECISIONS.md").read_text()
    assert "## Progress display and tables: no rich/tqdm (decision)" in arch
    assert (ROOT / "odirouter_async" / "cli" / "_progress.py").exists()
    extras = _table("project.optional-dependencies")
    assert "rich" not in extras and "tqdm" not in extras
