"""The repository is all a user clones: nothing in it may refer to, or read, a path beside it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests import conftest
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


def test_reading_a_file_beside_the_repository_fails_the_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit hook in conftest.py turns any such read into an error, so it cannot pass unnoticed."""
    assert not outside_the_repository(ROOT / "tests" / "fixtures" / "README.md")
    assert not outside_the_repository(tmp_path / "anything")
    assert not outside_the_repository(ROOT.parent / ".cache" / "pip")
    # The hook itself, on a layout of its own: this clone may sit straight in the temp folder, where nothing is
    # refused (the test below).
    workspace = tmp_path / "work"
    (workspace / "opmetrics").mkdir(parents=True)
    beside = workspace / "opmetrics-self-contained-probe.json"
    beside.write_text("{}")
    monkeypatch.setattr(conftest, "ROOT", workspace / "opmetrics")
    monkeypatch.setattr(conftest, "SCRATCH", tmp_path / "tmp")
    assert outside_the_repository(beside)
    with pytest.raises(PermissionError, match="outside the repository"):
        beside.open()


@pytest.mark.parametrize(
    ("clone", "scratch", "beside", "scratch_file"),
    [
        # cloned straight into the temp folder: its other entries are scratch space (pytest's own base folder)
        ("tmp/opmetrics", "tmp", [], ["tmp/pytest-of-user/pytest-1/.lock", "tmp/notes/README.md"]),
        # CI: a folder of its own inside the temp folder keeps the whole check
        ("tmp/ci/opmetrics", "tmp", ["tmp/ci/notes/README.md"], ["tmp/pytest-of-user/pytest-1/.lock"]),
        # a home folder whose TMPDIR sits beside the clone
        ("home/opmetrics", "home/tmp", ["home/notes/README.md"], ["home/tmp/pytest-of-user/pytest-1/.lock"]),
        # the usual layout: the temp folder elsewhere
        ("work/opmetrics", "tmp", ["work/notes/README.md"], ["tmp/pytest-of-user/pytest-1/.lock"]),
    ],
)
def test_the_temp_folder_is_not_beside_the_repository(
    tmp_path: Path, clone: str, scratch: str, beside: list[str], scratch_file: list[str]
) -> None:
    """Wherever a user clones (`/tmp/opmetrics` too), pytest's own files are not reads beside the repository."""
    root, temp = tmp_path / clone, tmp_path / scratch
    for name in beside:
        assert outside_the_repository(tmp_path / name, root, temp), name
    for name in scratch_file:
        assert not outside_the_repository(tmp_path / name, root, temp), name
    assert not outside_the_repository(root / "tests" / "fixtures" / "README.md", root, temp)
