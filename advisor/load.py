"""Stage 1, load: a folder of files becomes `SourceDocument`s; every unreadable file is reported.

Markdown and plain text keep the file's exact characters (so a citation's offsets index the file
itself); PDF, Word, PowerPoint, HTML, Excel and CSV go through `advisor.convert`, which writes
the same structured text, and citations index that converted text.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .convert import CONVERTERS, Converted, Unreadable
from .convert.blocks import clean_title, unreadable_reason, words_title
from .errors import CorpusError
from .types import SourceDocument

LOADER_VERSION = "11"
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


def _load_markdown(raw: bytes, path: Path) -> Converted:
    """Markdown and plain text are read as they are (citations index the file itself); a text
    that opens with an e-mail style header block ("Title: ...", as PEPs and RFCs do) takes its
    title from there."""
    text = _decode(raw)
    meta, body_start = front_matter(text)
    title = meta.get("title")
    if not title and (header := _HEADER_BLOCK.match(text)):
        fields = dict(_HEADER_FIELD.findall(header.group(0)))
        title = fields.get("Title") or fields.get("Subject")
    if not title:
        title = _first_heading(text, body_start)
    markers = list(PAGE_MARKER.finditer(text))
    pages = [m.start() for m in markers] if markers else None
    count = len(pages) if pages else None
    return Converted(text, str(title) if title else None, pages, pages=count)


_HEADER_BLOCK = re.compile(r"\A(?:[A-Z][\w-]{1,30}:[ \t]+\S.*\n(?:[ \t]+\S.*\n)*){2,}")
_HEADER_FIELD = re.compile(r"^([A-Z][\w-]{1,30}):[ \t]+(.+)$", re.M)
_SETEXT = re.compile(r"^(\S[^\n]{2,120})\n(?:={3,}|-{3,})[ \t]*$", re.M)


_CONTENTS = re.compile(r"\s*[-–—:|]?\s*\b(?:table of )?contents$", re.I)


def _first_heading(text: str, start: int) -> str | None:
    """The first heading (ATX or underlined) that reads as a title, not a placeholder."""
    found = sorted(
        [(m.start(), m.group(1)) for m in HEADING.finditer(text, start)]
        + [(m.start(), m.group(1)) for m in _SETEXT.finditer(text, start)]
    )
    for _, heading in found[:8]:
        heading = heading.strip().strip("*_").strip()
        # a contents page's heading names the document at most ("TechFAR Handbook Table of
        # Contents" is the TechFAR Handbook)
        heading = _CONTENTS.sub("", heading).strip()
        if len(re.sub(r"\[[^\]]*\]", " ", heading).split()) < 2:
            continue  # a template placeholder ("[Agency/State]")
        if clean_title(heading):
            return clean_title(heading)
    return None


def _converted(suffix: str) -> Callable[[bytes, Path], Converted]:
    fmt, convert = CONVERTERS[suffix]

    def load(raw: bytes, path: Path) -> Converted:
        out = convert(raw, path.name)
        # a PDF's text layer can be glyph codes or letter soup (fonts without a character map,
        # or a scan with a bad OCR layer); other formats store their characters as they are
        if fmt == "PDF" and (reason := unreadable_reason(out.text)):
            raise Unreadable(reason)
        if not out.title:
            out.title = _first_heading(out.text, 0)
        return out

    return load


LOADERS: dict[str, Callable[[bytes, Path], Converted]] = {
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".txt": _load_markdown,
    **{suffix: _converted(suffix) for suffix in CONVERTERS},
}
FORMATS: dict[str, str] = {
    ".md": "Markdown",
    ".markdown": "Markdown",
    ".txt": "text",
    **{suffix: fmt for suffix, (fmt, _) in CONVERTERS.items()},
}


def load_file(
    path: Path, root: Path, max_bytes: int | None = None, known: Mapping[str, dict] | None = None
) -> SourceDocument:
    """Load one file; raises `Unreadable` with a reason a user can act on. A file whose bytes
    hash as `known` (an index manifest: source -> entry) records is not converted again: its
    document comes from the entry, without text, since the index keeps its chunks (a PDF takes
    seconds to lay out; re-indexing an unchanged folder must not)."""
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
    rel = path.relative_to(root).as_posix()
    digest = hashlib.sha256(LOADER_VERSION.encode() + b"\0" + rel.encode() + b"\0" + raw)
    entry = (known or {}).get(rel)
    if entry is not None and entry.get("hash") == digest.hexdigest():
        return SourceDocument(
            doc_id=str(entry.get("doc_id") or rel),
            source=rel,
            title=str(entry.get("title") or words_title(path.name)),
            text="",
            content_hash=digest.hexdigest(),
            notes=list(entry.get("notes") or []),
            format=str(entry.get("format") or FORMATS.get(path.suffix.lower(), "")),
            pages=entry.get("pages"),
        )
    converted = loader(raw, path)
    text, title, pages = converted.text, converted.title, converted.page_starts
    if not text.strip():
        raise Unreadable("no readable text (scanned pages or broken fonts?)")
    hints: dict[str, list[str]] = {}
    notes: list[str] = []
    if loader is _load_markdown:
        meta, body_start = front_matter(text)
        hints, notes = question_hints(meta, text, body_start)
    return SourceDocument(
        doc_id=rel.rsplit(".", 1)[0] if "." in path.name else rel,
        source=rel,
        title=title or words_title(path.name),
        text=text,
        content_hash=digest.hexdigest(),
        page_starts=pages,
        questions=hints,
        notes=notes + converted.notes,
        format=FORMATS.get(path.suffix.lower(), ""),
        pages=converted.pages,
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
    root: Path,
    exclude: list[str],
    max_file_mb: float = 50.0,
    known: Mapping[str, dict] | None = None,
) -> tuple[list[SourceDocument], list[Problem]]:
    """Load every supported file under `root`; unreadable ones come back as `Problem`s. Files
    `known` records unchanged come back without their text (see `load_file`)."""
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
            doc = load_file(path, root, int(max_file_mb * 1e6), known)
        except Unreadable as exc:
            problems.append(Problem(rel, str(exc)))
            continue
        docs.append(doc)
        problems.extend(Problem(rel, note, skipped=False) for note in doc.notes)
    return docs, problems


def show_document(settings: Any, doc_id: str) -> str:
    """The loaded text of one corpus document, by doc id or file name (for `advisor show`)."""
    root = Path(settings.corpus_dir)
    if not root.is_dir():
        raise CorpusError(f"The corpus folder {root} does not exist (set ADVISOR_CORPUS_DIR).")
    known: list[str] = []
    for path, loop in iter_files(root, settings.exclude):
        if loop:
            continue
        rel = path.relative_to(root).as_posix()
        stem = rel.rsplit(".", 1)[0] if "." in path.name else rel
        known.append(stem)
        if doc_id in (rel, stem):
            try:
                return load_file(path, root, int(settings.max_file_mb * 1e6)).text
            except Unreadable as exc:
                raise CorpusError(f"{rel} could not be read: {exc}") from None
    hint = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "")
    raise CorpusError(f"No document '{doc_id}' in {root}. Documents: {hint or 'none'}.")
