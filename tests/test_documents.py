"""Documents users add in the page: content checks, safe names, limits, the second index root,
and add / list / remove through a real Gradio server driven by gradio_client."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from advisor import Advisor, Settings
from advisor.errors import UploadError
from advisor.index import USER_PREFIX
from advisor.uploads import DocumentShelf, content_kind, safe_name

from .conftest import serve_ui
from .pdfs import text_pdf

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "corpus" / "ai-project-manager-guide.md"
OKAPI = (
    "# Okapi keeping\n\n## Feeding\n\nAn adult okapi eats about 30 kilograms of leaves every day, "
    "mostly from the understory of rainforest trees.\n"
)
OKAPI_Q = "How many kilograms of leaves does an okapi eat every day?"


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(GUIDE, corpus)
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index")


def put(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "uploads-in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


# --- content, names and limits --------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("notes.md", b"# Notes\n\nSome text.\n", ".md"),
        ("notes", b"Plain words.\n", ".txt"),
        ("page.html", b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", ".html"),
        ("page.txt", b"  <html><body><p>Hi</p></body></html>", ".html"),
        ("table.csv", b"a,b\n1,2\n", ".csv"),
        ("report.md", b"%PDF-1.4\n...", ".pdf"),  # a real PDF under another name is a PDF
        ("cv.docx", zip_bytes({"word/document.xml": b"<w:document/>"}), ".docx"),
        ("deck.pptx", zip_bytes({"ppt/presentation.xml": b"<p/>"}), ".pptx"),
    ],
)
def test_the_content_decides_the_type(settings: Settings, name: str, data: bytes, kind: str):
    assert content_kind(data, name, settings) == kind


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("report.pdf", b"Just notes, renamed to look like a PDF.\n", "named .pdf but it is text"),
        ("cv.docx", b"%PDF-1.4\n", "named .docx but it is a PDF"),
        ("photo.pdf", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "UTF-8"),
        ("archive.docx", zip_bytes({"readme.txt": b"hello"}), "not a Word"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "damaged zip"),
    ],
)
def test_a_wrong_or_unreadable_type_is_refused(settings: Settings, name: str, data: bytes, why):
    with pytest.raises(UploadError, match=why):
        content_kind(data, name, settings)


def test_a_zip_bomb_posing_as_docx_is_refused_before_it_is_opened(settings: Settings) -> None:
    # 150 MB of zeros compress to about 150 KB: the declared size alone gives it away
    big = zip_bytes({"word/document.xml": b"\0" * 150_000_000})
    assert len(big) < 1_000_000
    with pytest.raises(UploadError, match="unpack to 150 MB"):
        content_kind(big, "cv.docx", settings)
    # under the size limit, the compression ratio does
    dense = zip_bytes({"word/document.xml": b"\0" * 20_000_000})
    with pytest.raises(UploadError, match="zip bomb"):
        content_kind(dense, "cv.docx", settings)


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        ("/abs/path/notes.md", "notes.md"),
        (".hidden.md", "hidden.md"),
        ("my cv (final)!.md", "my cv -final-.md"),
        ("..", "document"),
        ("x" * 300 + ".md", "x" * 97 + ".md"),
    ],
)
def test_names_are_reduced_to_one_safe_file_name(given: str, safe: str) -> None:
    assert safe_name(given) == safe


def test_a_path_in_the_name_cannot_leave_the_folder(settings: Settings, tmp_path: Path) -> None:
    shelf = DocumentShelf(settings)
    upload = put(tmp_path, "x.md", OKAPI.encode())
    stored = shelf.add(upload, "../../../outside.md")
    assert stored.name == "outside.md" and stored.source == USER_PREFIX + "outside.md"
    assert (settings.user_docs_path / "outside.md").is_file()
    assert not (tmp_path / "outside.md").exists() and not (tmp_path.parent / "outside.md").exists()
    with pytest.raises(UploadError):
        shelf.remove(USER_PREFIX + "../corpus/ai-project-manager-guide.md")
    with pytest.raises(UploadError, match="cannot be removed"):
        shelf.remove("ai-project-manager-guide.md")
    assert (settings.corpus_dir / "ai-project-manager-guide.md").is_file()


def test_size_and_count_limits(settings: Settings, tmp_path: Path) -> None:
    small = Settings(**(settings.model_dump() | {"upload_max_mb": 0.001, "upload_max_files": 2}))
    shelf = DocumentShelf(small)
    with pytest.raises(UploadError, match="limit is 0.001 MB"):
        shelf.add(put(tmp_path, "big.md", b"word " * 1000))
    shelf.add(put(tmp_path, "a.md", b"# A\n\nfirst"))
    shelf.add(put(tmp_path, "b.md", b"# B\n\nsecond"))
    with pytest.raises(UploadError, match="already 2 documents"):
        shelf.add(put(tmp_path, "c.md", b"# C\n\nthird"))
    assert shelf.add(put(tmp_path, "a.md", b"# A\n\nnew text")).replaced  # same name: replaced
    assert shelf.names() == ["a.md", "b.md"]


# --- the second index root ------------------------------------------------------------------
def test_user_documents_are_indexed_incrementally_with_the_corpus(settings: Settings, embedder):
    advisor = Advisor(settings, embedder=embedder)
    first = advisor.index()
    guide_chunks = first.added
    shelf = DocumentShelf(settings)
    settings.user_docs_path.mkdir(parents=True)
    (settings.user_docs_path / "okapi.md").write_text(OKAPI, encoding="utf-8")
    second = advisor.index()
    assert second.wrote and second.unchanged == guide_chunks  # the guide is copied, not embedded
    assert second.changed_documents == [USER_PREFIX + "okapi.md"]
    manifest = advisor.store.current().manifest
    assert manifest[USER_PREFIX + "okapi.md"]["title"] == "Okapi keeping"
    assert manifest[USER_PREFIX + "okapi.md"]["added"] >= manifest[GUIDE.name]["added"]
    answer = advisor.invoke(OKAPI_Q)
    assert "30 kilograms" in answer.answer
    assert answer.citations[0].source == USER_PREFIX + "okapi.md"
    assert answer.citations[0].text in OKAPI
    shelf.remove(USER_PREFIX + "okapi.md")
    third = advisor.index()
    assert third.removed >= 1 and USER_PREFIX + "okapi.md" not in advisor.store.current().manifest
    assert advisor.invoke(OKAPI_Q).declined


# --- through a launched server --------------------------------------------------------------
@pytest.fixture
def served(settings: Settings, embedder) -> Iterator[tuple[Any, Advisor]]:
    from gradio_client import Client

    advisor = Advisor(settings, embedder=embedder)
    advisor.index()
    app = serve_ui(advisor)
    client = Client(app.local_url, verbose=False)
    yield client, advisor
    client.close()
    app.close()


@pytest.mark.server
@pytest.mark.slow
def test_add_list_ask_remove_through_the_server(served, tmp_path: Path) -> None:
    from gradio_client import handle_file

    client, advisor = served
    doc = put(tmp_path, "okapi.md", OKAPI.encode())
    report = client.predict([handle_file(str(doc))], api_name="/add_documents")[0]
    assert "okapi.md** added: 1 passage" in report
    listed = {d["source"]: d for d in client.predict(api_name="/documents")}
    assert listed[USER_PREFIX + "okapi.md"]["title"] == "Okapi keeping"
    assert listed[USER_PREFIX + "okapi.md"]["format"] == "MD"
    assert listed[USER_PREFIX + "okapi.md"]["chunks"] == 1
    assert listed[GUIDE.name]["chunks"] > 10

    answer = client.predict(OKAPI_Q, [], api_name="/ask")
    assert "30 kilograms" in answer["answer"]
    assert answer["citations"][0]["source"] == USER_PREFIX + "okapi.md"

    removed = client.predict(USER_PREFIX + "okapi.md", api_name="/remove_document")[0]
    assert "removed" in removed
    listed = {d["source"] for d in client.predict(api_name="/documents")}
    assert USER_PREFIX + "okapi.md" not in listed
    after = client.predict(OKAPI_Q, [], api_name="/ask")
    assert after["declined"] and not after["citations"]
    with pytest.raises(Exception, match="not in the list of choices"):  # only yours are offered
        client.predict(GUIDE.name, api_name="/remove_document")
    assert GUIDE.name in {d["source"] for d in client.predict(api_name="/documents")}


@pytest.mark.server
@pytest.mark.slow
def test_hostile_uploads_get_a_message_and_the_server_goes_on(served, tmp_path: Path) -> None:
    from gradio_client import handle_file

    client, advisor = served
    files = {
        "renamed.pdf": b"Just notes, renamed to .pdf.\n",
        "bomb.docx": zip_bytes({"word/document.xml": b"\0" * 150_000_000}),
        "broken.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage",
        "okapi.md": OKAPI.encode(),
    }
    paths = [put(tmp_path, name, data) for name, data in files.items()]
    report = client.predict([handle_file(str(p)) for p in paths], api_name="/add_documents")[0]
    assert "**renamed.pdf** was not added: it is named .pdf but it is text" in report
    assert "**bomb.docx** was not added: it would unpack to 150 MB" in report
    assert "**broken.pdf** could not be read" in report
    assert "**okapi.md** added" in report
    assert DocumentShelf(advisor.settings).names() == ["okapi.md"]  # nothing broken is kept
    assert "30 kilograms" in client.predict(OKAPI_Q, [], api_name="/ask")["answer"]
    pdf = text_pdf(tmp_path / "okapi-notes.pdf", ["Okapis sleep about five hours a night."])
    report = client.predict([handle_file(str(pdf))], api_name="/add_documents")[0]
    assert "okapi-notes.pdf** added" in report


def test_with_a_login_only_a_logged_in_user_may_change_documents(
    settings: Settings, embedder, tmp_path: Path
) -> None:
    import gradio as gr

    from advisor.ui import add_documents, remove_document

    locked = Settings(**(settings.model_dump() | {"ui_auth": "ada:secret"}))
    advisor = Advisor(locked, embedder=embedder)
    doc = put(tmp_path, "okapi.md", OKAPI.encode())

    def progress(*_: Any, **__: Any) -> None:
        return None

    with pytest.raises(gr.Error, match="log in"):
        add_documents(advisor, [str(doc)], progress, SimpleNamespace(username=None))
    with pytest.raises(gr.Error, match="log in"):
        remove_document(advisor, USER_PREFIX + "okapi.md", progress, None)
    assert DocumentShelf(locked).names() == []
    report = add_documents(advisor, [str(doc)], progress, SimpleNamespace(username="ada"))
    assert "okapi.md** added" in report


def test_answers_go_on_while_uploads_switch_the_index(settings: Settings, embedder) -> None:
    """A question that began on the previous generation finishes: the build keeps it until
    the next one (the page answers other users while an upload is indexed)."""
    import threading

    advisor = Advisor(settings, embedder=embedder)
    advisor.index()
    advisor.warm_up()
    stop, errors, answered = threading.Event(), [], []

    def ask_again_and_again() -> None:
        while not stop.is_set():
            try:
                answered.append(advisor.invoke("What salary can an AI project manager expect?"))
            except Exception as exc:  # the failure this test is about
                errors.append(exc)

    thread = threading.Thread(target=ask_again_and_again)
    thread.start()
    settings.user_docs_path.mkdir(parents=True)
    try:
        for i in range(3):
            (settings.user_docs_path / f"note-{i}.md").write_text(
                f"# Note {i}\n\nOkapi note number {i}: okapis eat leaves.\n", encoding="utf-8"
            )
            advisor.index()
    finally:
        stop.set()
        thread.join()
    assert errors == [] and len(answered) >= 3
    assert all("$120,000" in a.answer for a in answered)
