"""A plain `pip install` carries the default corpus and the eval datasets as package data."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        timeout=600,
    )
    return next(out.glob("career_advisor-*.whl"))


def test_wheel_ships_corpus_and_datasets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    corpus = sorted(p.name for p in (ROOT / "corpus").glob("*.md"))
    for name in corpus:
        assert f"advisor/_corpus/{name}" in names
    assert "advisor/_evals/career.jsonl" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_package_finds_its_own_corpus(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=600,
    )
    code = (
        "from advisor.config import Settings; s = Settings(); "
        "print(s.corpus_dir); print(s.index_dir); "
        "print(sorted(p.name for p in s.corpus_dir.glob('*.md')))"
    )
    env = {**os.environ, "PYTHONPATH": str(target), "HOME": str(tmp_path / "home")}
    env = {k: v for k, v in env.items() if not k.startswith("ADVISOR_")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.splitlines()
    assert out[0].startswith(str(target)) and out[0].endswith("_corpus")
    assert out[1].startswith(str(tmp_path / "home"))  # a per-user data folder, not site-packages
    assert "ai-project-manager-guide.md" in out[2]
