"""Stage 1, load: a folder of files becomes `SourceDocument`s; every unreadable file is reported.

Markdown and plain text keep the file's exact characters (so a citation's offsets index the file
itself); HTML, PDF and CSV are converted to Markdown-like text whose offsets the citations use.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import CorpusError
from .types import SourceDocument

LOADER_VERSION = "1"
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.S)
PAGE_MARKER = re.compile(r"^-{2,} Page (\d+) -{2,}[ \t]*$", re.M)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)


@dataclass(frozen=True)
class Problem:
    """A file that was not indexed, and why (shown to the user by name); or, with `skipped`
    false, a file that was indexed with something in it ignored."""

    source: str
    reason: str
    skipped: bool = True


class Unreadable(Exception):
    """Raised by a loader for a file it cannot turn into text."""


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when it is there


@lru_cache(maxsize=32)
def front_matter(text: str) -> tuple[dict, int]:
    """The YAML front matter of a Markdown text and the offset where the body starts (parsed
    once per text: loading, hints and splitting all ask; do not change the dict)."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    try:
        data = yaml.load(match.group(1), Loader=_YAML_LOADER) or {}  # a safe loader
    except yaml.YAMLError:
        return {}, 0
    return (data if isinstance(data, dict) else {}), match.end()


LEAD_KEY = "_lead"  # the text between a document's title and its first section


def heading_key(heading: str) -> str:
    """How a heading is matched to its `questions` entry: case and spacing do not matter."""
    return " ".join(heading.split()).casefold()


def question_hints(
    meta: dict, text: str, body_start: int
) -> tuple[dict[str, list[str]], list[str]]:
    """The front matter's `questions` (heading -> questions its section answers) and what was
    wrong with it. The questions are embedded with the passage so that a user's own wording can
    find it; they are never quoted. Entries that name no heading of the document are dropped
    with a note rather than failing the document."""
    raw = meta.get("questions")
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, ["front matter 'questions' must map section headings to lists of questions"]
    headings = {heading_key(m.group(1)) for m in HEADING.finditer(text, body_start)}
    hints: dict[str, list[str]] = {}
    notes: list[str] = []
    for heading, questions in raw.items():
        key = heading_key(str(heading))
        if key != LEAD_KEY and key not in headings:
            notes.append(f"the questions for '{heading}' were ignored: no heading has that text")
            continue
        items = questions if isinstance(questions, list) else [questions]
        kept = [" ".join(str(q).split()) for q in items if isinstance(q, str) and q.strip()]
        if len(kept) < len(items):
            notes.append(f"some questions for '{heading}' were ignored: each must be text")
        if kept:
            hints[key] = kept
    return hints, notes


def _decode(raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise Unreadable("binary data, not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def _load_markdown(raw: bytes, path: Path) -> tuple[str, str | None, list[int] | None]:
    text = _decode(raw)
    meta, body_start = front_matter(text)
    title = meta.get("title")
    if not title:
        heading = HEADING.search(text, body_start)
        title = heading.group(1) if heading else None
    markers = list(PAGE_MARKER.finditer(text))
    pages = [m.start() for m in markers] if markers else None
    return text, str(title) if title else None, pages


def _load_html(raw: bytes, path: Path) -> tuple[str, str | None, list[int] | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(raw), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    blocks = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "tr", "blockquote", "dt", "dd"}
    lines: list[str] = []
    for el in soup.find_all(blocks):
        if any(parent.name in blocks for parent in el.parents):
            continue
        if el.name == "tr":
            text = " | ".join(c.get_text(" ", strip=True) for c in el.find_all(["td", "th"]))
        else:
            text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if el.name[0] == "h" and el.name[1:].isdigit():
            lines.append(f"\n{'#' * int(el.name[1:])} {text}\n")
        elif el.name == "li":
            lines.append(f"- {text}")
        else:
            lines.append(f"\n{text}\n")
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
    title_tag = soup.find("title")
    title = title_tag.get_text(strip=True) if title_tag else None
    if not title and (h1 := soup.find("h1")):
        title = h1.get_text(" ", strip=True)
    return body, title or None, None


def _load_pdf(raw: bytes, path: Path) -> tuple[str, str | None, list[int] | None]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("the PDF is encrypted; save an unencrypted copy")
        texts = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except Unreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise Unreadable(f"broken PDF ({exc})") from None
    except Exception as exc:  # pypdf raises many types on damaged files
        if "encrypt" in str(exc).lower() or "crypt" in type(exc).__name__.lower():
            raise Unreadable("the PDF is encrypted; save an unencrypted copy") from None
        raise Unreadable(f"broken PDF ({type(exc).__name__}: {exc})") from None
    starts, parts, offset = [], [], 0
    for text in texts:
        starts.append(offset)
        part = text.strip() + "\n\n"
        parts.append(part)
        offset += len(part)
    return "".join(parts), title, starts


def _load_csv(raw: bytes, path: Path) -> tuple[str, str | None, list[int] | None]:
    text = _decode(raw).lstrip("\ufeff")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise Unreadable(f"malformed CSV ({exc})") from None
    if not rows:
        raise Unreadable("empty CSV")
    header, body = rows[0], rows[1:]
    lines = [f"# {path.stem}", "", f"Rows of {path.name}, one per line:"]
    for row in body:
        cells = [
            f"{h.strip()}: {v.strip()}" for h, v in zip(header, row, strict=False) if v.strip()
        ]
        if cells:
            lines.append("- " + "; ".join(cells))
    return "\n".join(lines) + "\n", None, None


LOADERS: dict[str, Callable[[bytes, Path], tuple[str, str | None, list[int] | None]]] = {
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".txt": _load_markdown,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
    ".csv": _load_csv,
}


def load_file(path: Path, root: Path, max_bytes: int | None = None) -> SourceDocument:
    """Load one file; raises `Unreadable` with a reason a user can act on."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise Unreadable(f"unsupported file type '{path.suffix or '(none)'}'")
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise Unreadable(f"too large ({size / 1e6:.0f} MB; the limit is ADVISOR_MAX_FILE_MB)")
        raw = path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror or exc})") from None
    if not raw.strip():
        raise Unreadable("empty file")
    text, title, pages = loader(raw, path)
    if not text.strip():
        raise Unreadable("no text could be extracted")
    rel = path.relative_to(root).as_posix()
    hints: dict[str, list[str]] = {}
    notes: list[str] = []
    if loader is _load_markdown:
        meta, body_start = front_matter(text)
        hints, notes = question_hints(meta, text, body_start)
    digest = hashlib.sha256(LOADER_VERSION.encode() + b"\0" + rel.encode() + b"\0" + raw)
    return SourceDocument(
        doc_id=rel.rsplit(".", 1)[0] if "." in path.name else rel,
        source=rel,
        title=title or path.stem.replace("-", " ").replace("_", " ").strip().capitalize(),
        text=text,
        content_hash=digest.hexdigest(),
        page_starts=pages,
        questions=hints,
        notes=notes,
    )


def iter_files(root: Path, exclude: list[str]) -> Iterator[tuple[Path, str | None]]:
    """Every file under `root` (following links, once), or a problem for a link loop."""
    seen: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            yield Path(folder), "symbolic link loop: this folder was already indexed"
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not any(fnmatch.fnmatch(d, p) for p in exclude))
        for name in sorted(files):
            if not any(fnmatch.fnmatch(name, p) for p in exclude):
                yield Path(folder) / name, None


def load_corpus(
    root: Path, exclude: list[str], max_file_mb: float = 50.0
) -> tuple[list[SourceDocument], list[Problem]]:
    """Load every supported file under `root`; unreadable ones come back as `Problem`s."""
    if not root.is_dir():
        raise CorpusError(f"The corpus folder {root} does not exist (set ADVISOR_CORPUS_DIR).")
    docs: list[SourceDocument] = []
    problems: list[Problem] = []
    for path, loop in iter_files(root, exclude):
        rel = os.path.relpath(path, root)
        if loop:
            problems.append(Problem(rel, loop))
            continue
        try:
            doc = load_file(path, root, int(max_file_mb * 1e6))
        except Unreadable as exc:
            problems.append(Problem(rel, str(exc)))
            continue
        docs.append(doc)
        problems.extend(Problem(rel, note, skipped=False) for note in doc.notes)
    return docs, problems
