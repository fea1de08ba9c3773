"""The repository is all a user clones: nothing in it may refer to, or read, a path beside it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, outside_the_repository

# Built from parts so this file does not match itself.
SIBLING = re.compile(r"\.\./" + "shared" + r"|\bshared/" + r"(reference|DESIGN)")
NOT_SHIPPED = {".git", ".venv", "data", ".dagster_home", "target", "logs", "__pycache__", ".pytest_cache"}


def project_files() -> list[Path]:
    """Every file a clone holds: git's list when there is a repository, else the tree without build output."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout  # fmt: skip
        return [ROOT / os.fsdecode(name) for name in listed.split(b"\0") if name]
    except (OSError, subprocess.CalledProcessError):
        return [
            Path(folder) / name
            for folder, dirs, names in os.walk(ROOT)
            if not dirs.__setitem__(slice(None), [d for d in dirs if d not in NOT_SHIPPED and "egg-info" not in d])
            for name in names
        ]


def test_no_file_refers_to_a_folder_beside_the_repository() -> None:
    offending = []
    for path in project_files():
        try:
            text = path.read_text()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary files (images) and files deleted but not yet staged
        for number, line in enumerate(text.splitlines(), 1):
            if SIBLING.search(line):
                offending.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offending, "files that refer to a folder beside the repository:\n" + "\n".join(offending)


def test_reading_a_file_beside_the_repository_fails_the_test(tmp_path: Path) -> None:
    """The audit hook in conftest.py turns any such read into an error, so it cannot pass unnoticed."""
    beside = ROOT.parent / "opmetrics-self-contained-probe.json"
    assert outside_the_repository(beside)
    assert not outside_the_repository(ROOT / "tests" / "fixtures" / "README.md")
    assert not outside_the_repository(tmp_path / "anything")
    assert not outside_the_repository(ROOT.parent / ".cache" / "pip")
    with pytest.raises(PermissionError, match="outside the repository"):
        beside.open()
