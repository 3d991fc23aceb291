"""Scale-out: the same advisor against a real `chroma run` server on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor import Advisor, Settings

from .conftest import free_port
from .test_index import DOCS

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "server-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("chroma run did not start")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_index_and_answer_through_a_chroma_server(
    tmp_path: Path, chroma_url: str, embedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    remote = Advisor(
        Settings(corpus_dir=corpus, index_dir=tmp_path / "state", chroma_url=chroma_url),
        embedder=embedder,
    )
    local = Advisor(Settings(corpus_dir=corpus, index_dir=tmp_path / "local"), embedder=embedder)
    assert remote.index().added == 3 and local.index().added == 3
    assert not (tmp_path / "state" / "chroma").exists()  # nothing went to the embedded store

    question = {"question": "How many questions are on the PMP exam?"}
    remote_answer, local_answer = remote.invoke(question), local.invoke(question)
    assert "180 questions" in remote_answer.answer
    assert remote_answer.answer == local_answer.answer
    assert [c.text for c in remote_answer.citations] == [c.text for c in local_answer.citations]

    again = remote.index()
    assert (again.added, again.removed, again.wrote) == (0, 0, False)
    (corpus / "pmp.md").write_text(DOCS["pmp.md"].replace("180", "185"), encoding="utf-8")
    changed = remote.index()
    assert (changed.added, changed.removed, changed.unchanged) == (1, 1, 2)
    assert "185 questions" in remote.invoke(question).answer


def test_unreachable_server_is_a_clear_error(tmp_path: Path, embedder) -> None:
    from advisor.errors import AdvisorError

    adv = Advisor(
        Settings(index_dir=tmp_path / "s", chroma_url=f"http://127.0.0.1:{free_port()}"),
        embedder=embedder,
    )
    with pytest.raises(AdvisorError, match="127.0.0.1"):
        adv.ask("What is the PMP exam?")
