"""Documents users add in the chat page: checked, named safely, kept in one folder, listed.

A file is judged by its content, never by its name: `%PDF-` is a PDF; a zip is a Word,
PowerPoint or Excel document only when it has `word/`, `ppt/` or `xl/` entries, and only after
its central directory shows that nothing in it unpacks to more than the limits (a zip bomb is
refused before any reader opens it); anything else must be UTF-8 text (HTML when it starts like
HTML). A name that claims another type than the content ("notes.txt" renamed "cv.pdf") is
refused. Names are reduced to one safe file name inside `settings.user_docs_path`, so no path
can leave that folder. The index reads the folder as its second root (`index.USER_PREFIX`).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import UploadError
from .index import USER_PREFIX
from .load import LOADERS

ZIP_KINDS = {"word/": ".docx", "ppt/": ".pptx", "xl/": ".xlsx"}
BINARY_KINDS = {".pdf", *ZIP_KINDS.values()}
TEXT_KINDS = {".md", ".markdown", ".txt", ".csv"}
HTML_KINDS = {".html", ".htm"}
KIND_NAMES = {
    ".pdf": "a PDF",
    ".docx": "a Word document",
    ".pptx": "a PowerPoint document",
    ".xlsx": "an Excel workbook",
    ".html": "an HTML page",
}
MAX_ZIP_ENTRIES = 5000
MAX_NAME_CHARS = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_HTML_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b",
    re.I | re.S,
)


def describe(kind: str) -> str:
    return KIND_NAMES.get(kind, "text")


def safe_name(name: str) -> str:
    """One harmless file name from whatever a browser sent: the last path part only, letters,
    digits, `.`, `-`, `_` and spaces, no leading dot, at most 100 characters."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    base = _UNSAFE.sub("-", base).strip(" .-")
    base = re.sub(r"-{2,}", "-", base)
    if len(base) > MAX_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_NAME_CHARS - len(ext) - 1] + dot + ext) if dot else base[:MAX_NAME_CHARS]
    return base or "document"


def office_kind(raw: bytes, settings: Settings) -> str:
    """`.docx`, `.pptx` or `.xlsx` for a zip whose declared sizes are safe to unpack."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise UploadError(f"it is a damaged zip archive ({exc})") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise UploadError(f"it holds {len(entries):,} files; a document has far fewer")
    unpacked = sum(e.file_size for e in entries)
    limit = settings.upload_max_unzipped_mb * 1e6
    if unpacked > limit:
        raise UploadError(
            f"it would unpack to {unpacked / 1e6:,.0f} MB (the limit is "
            f"{settings.upload_max_unzipped_mb:g} MB, ADVISOR_UPLOAD_MAX_UNZIPPED_MB)"
        )
    ratio = settings.upload_max_zip_ratio
    for e in entries:
        if e.file_size > 1_000_000 and e.file_size > ratio * max(e.compress_size, 1):
            raise UploadError(
                f"'{e.filename}' in it is compressed {e.file_size / max(e.compress_size, 1):,.0f}"
                f" times (more than {ratio:g}): it looks like a zip bomb"
            )
    names = [e.filename for e in entries]
    for prefix, kind in ZIP_KINDS.items():
        if any(n.startswith(prefix) for n in names):
            return kind
    raise UploadError("it is a zip archive, not a Word, PowerPoint or Excel document")


def content_kind(raw: bytes, name: str, settings: Settings) -> str:
    """The file extension that fits the bytes (`.pdf`, `.docx`, `.md`, `.html`, ...), or an
    `UploadError` when the content is unusable or the name claims another type."""
    claimed = Path(name).suffix.lower()
    if raw.startswith(b"%PDF-"):
        kind = ".pdf"
    elif raw.startswith(b"PK\x03\x04"):
        kind = office_kind(raw, settings)
    else:
        if b"\x00" in raw[:8192]:
            raise UploadError("it is binary data, not a PDF, an Office document or text")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UploadError("it is neither a PDF, an Office document nor UTF-8 text") from None
        if _HTML_START.match(raw[:4096]):
            kind = ".htm" if claimed == ".htm" else ".html"
        elif claimed in TEXT_KINDS:
            kind = claimed
        else:
            kind = ".txt"
    if (
        claimed in BINARY_KINDS | HTML_KINDS
        and claimed != kind
        and describe(claimed) != describe(kind)
    ):
        raise UploadError(f"it is named {claimed} but it is {describe(kind)}")
    return kind


@dataclass(frozen=True)
class Stored:
    """A file accepted into the user documents folder."""

    name: str  # the file name in the folder
    source: str  # its source in the index: "uploads/<name>"
    replaced: bool  # a document of that name was there before


class DocumentShelf:
    """The user documents folder: add (checked), remove (only what users added), count."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.user_docs_path

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_file() and p.name[0] != ".")

    def _inside(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if path.parent != self.root.resolve() or safe_name(name) != name:
            raise UploadError(f"'{name}' is not a document you added")
        return path

    def add(self, upload: Path, original_name: str | None = None) -> Stored:
        """Check the file at `upload` (a temporary copy) and keep it under a safe name."""
        shown = original_name or upload.name
        limit = self.settings.upload_max_mb
        try:
            size = upload.stat().st_size
            if size > limit * 1e6:
                raise UploadError(
                    f"it is {size / 1e6:,.1f} MB; the limit is {limit:g} MB (ADVISOR_UPLOAD_MAX_MB)"
                )
            raw = upload.read_bytes()
        except OSError as exc:
            raise UploadError(f"it could not be read ({exc.strerror or exc})") from None
        if not raw.strip():
            raise UploadError("it is empty")
        kind = content_kind(raw, shown, self.settings)
        if kind not in LOADERS:
            readable = ", ".join(sorted(k.lstrip(".").upper() for k in LOADERS))
            raise UploadError(f"{describe(kind)} cannot be read here yet (readable: {readable})")
        stem = safe_name(shown)
        stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix.lower() == kind else stem
        name = safe_name(stem + kind)
        path = self._inside(name)
        existing = self.names()
        replaced = name in existing
        if not replaced and len(existing) >= self.settings.upload_max_files:
            raise UploadError(
                f"there are already {len(existing)} documents (the limit is "
                f"{self.settings.upload_max_files}, ADVISOR_UPLOAD_MAX_FILES); remove one first"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        part = self.root / f".{name}.{os.getpid()}.{time.monotonic_ns()}.part"  # ".*": not indexed
        part.write_bytes(raw)
        os.replace(part, path)
        return Stored(name, USER_PREFIX + name, replaced)

    def remove(self, source: str) -> str:
        """Delete a document users added (by its index source); the corpus cannot be removed."""
        if not source.startswith(USER_PREFIX):
            raise UploadError("The documents that come with the advisor cannot be removed here.")
        name = source[len(USER_PREFIX) :]
        path = self._inside(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise UploadError(f"'{name}' is no longer there.") from None
        return name

    def discard(self, name: str) -> None:
        """Drop a stored file the index could not read (it would only fail again)."""
        with contextlib.suppress(UploadError):
            self._inside(name).unlink(missing_ok=True)


@dataclass(frozen=True)
class DocumentRow:
    """One line of the page's document list."""

    source: str
    title: str
    format: str
    chunks: int
    added: str
    problems: str
    removable: bool


def document_rows(manifest: dict[str, dict]) -> list[DocumentRow]:
    """The index's documents, the ones users added first, newest first, then the corpus."""
    rows = []
    for source, entry in manifest.items():
        added = entry.get("added")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(added)) if added else ""
        rows.append(
            DocumentRow(
                source=source,
                title=str(entry.get("title", "")),
                format=Path(source).suffix.lstrip(".").upper() or "TEXT",
                chunks=int(entry.get("chunks", 0)),
                added=when,
                problems="; ".join(entry.get("notes", [])),
                removable=source.startswith(USER_PREFIX),
            )
        )
    return sorted(rows, key=lambda r: (not r.removable, r.source))
