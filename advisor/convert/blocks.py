"""What every converter shares: the structured text it writes, line re-flow, titles, and the
check that extracted text is words at all."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..types import is_record_text


class Unreadable(Exception):
    """Raised by a loader for a file it cannot turn into text."""


@dataclass
class Converted:
    """A converted file: `text` is what citations index; `page_starts` the offset of each page
    (or slide) when the format has pages."""

    text: str
    title: str | None = None
    page_starts: list[int] | None = None
    notes: list[str] = field(default_factory=list)
    pages: int | None = None  # pages or slides in the file, for the index report


@dataclass
class _Block:
    kind: str  # heading | paragraph | item | page
    text: str = ""
    level: int = 0


class Builder:
    """Collects headings, paragraphs, list items and page breaks, and writes them as Markdown
    with one paragraph per line, so the splitter sees the structure and whole sentences."""

    def __init__(self) -> None:
        self.blocks: list[_Block] = []

    def page(self) -> None:
        self.blocks.append(_Block("page"))

    def heading(self, text: str, level: int = 2) -> None:
        text = _one_line(text).strip(" #")
        if text:
            self.blocks.append(_Block("heading", text, max(1, min(level, 6))))

    def paragraph(self, text: str) -> None:
        """A paragraph; a short label with no sentence end (a caption, a slide's text box, a
        date line) is kept as an item instead, so it is never quoted as if it were prose, and a
        paragraph that goes on in lower case after one that did not end joins it."""
        text = _one_line(text)
        if not text:
            return
        prev = self.blocks[-1] if self.blocks else None
        if (
            prev is not None
            and prev.kind in ("paragraph", "item")
            and not _ENDS_SENTENCE.search(prev.text)
            and text[:1].islower()
            and not is_record_text(f"- {prev.text}")
        ):
            # one sentence split over two paragraphs, or a list item that goes on after it
            # ("- Then, decide whether to upload your résumé," / "build one ...")
            prev.text = f"{prev.text} {text}"
            return
        if len(text.split()) <= 12 and not _ENDS_SENTENCE.search(text):
            self.item(text)
            return
        self.blocks.append(_Block("paragraph", _unmark(text)))

    def item(self, text: str, level: int = 0) -> None:
        text = _one_line(text)
        if text:
            self.blocks.append(_Block("item", text, level))

    def row(self, header: list[str], cells: list[str]) -> None:
        """A table row as one item: "Column: value; Column: value" (empty cells left out)."""
        pairs = []
        for i, cell in enumerate(cells):
            # "; " separates cells: one inside a cell ("aides; and nursing assistants") would
            # make the row unreadable as a row
            cell = _one_line(cell).replace(";", ",")
            if not cell:
                continue
            name = _one_line(header[i]) if i < len(header) else ""
            pairs.append(f"{name}: {cell}" if name and name != cell else cell)
        if pairs:
            self.item("; ".join(pairs))

    @property
    def empty(self) -> bool:
        return not any(b.kind != "page" for b in self.blocks)

    def build(self, title: str | None = None, pages: int | None = None) -> Converted:
        parts: list[str] = []
        offset = 0
        starts: list[int] = []
        prev = ""
        for block in self.blocks:
            if block.kind == "page":
                starts.append(offset)
                continue
            if block.kind == "heading":
                piece = f"{'#' * block.level} {block.text}"
            elif block.kind == "item":
                piece = f"{'  ' * block.level}- {block.text}"
            else:
                piece = block.text
            sep = "" if not parts else ("\n" if prev == "item" == block.kind else "\n\n")
            parts.append(sep + piece)
            offset += len(sep) + len(piece)
            prev = block.kind
        text = "".join(parts) + "\n"
        has_pages = bool(starts)
        return Converted(
            text=text,
            title=title,
            page_starts=[min(s, len(text) - 1) for s in starts] if has_pages else None,
            pages=pages,
        )


_ENDS_SENTENCE = re.compile(r"[.!?:;]['\"’”)\]]*$")
_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", _CONTROL.sub("", text.replace("\n", " ").replace("\r", " "))).strip()


_BLOCK_START = re.compile(r"^(#{1,6}\s|>|\d{1,9}[.)]\s|[-+*]\s|={3,}|-{3,}|`{3,}|~{3,}|\|)")


def _unmark(text: str) -> str:
    """A paragraph that would read as Markdown block syntax ("1. ", "# ", "> ") gets a
    zero-width joiner in front, so it stays a paragraph and its characters stay the same."""
    return "\u2060" + text if _BLOCK_START.match(text) else text


_HYPHEN_END = re.compile(r"(\w+)[-\u00ad\u2010]$")
_WORD_START = re.compile(r"^([a-z]\w*)")


def join_lines(lines: Iterable[str], vocabulary: Counter[str] | None = None) -> str:
    """Re-flow hard-wrapped lines into one paragraph. A word broken at a line end ("illus-" /
    "trated") is joined; the hyphen is kept when the document itself writes the word with one
    ("mission-driven") and dropped when it writes it without, or when the part after it is
    not a word the document uses on its own."""
    out = ""
    for raw in lines:
        line = _one_line(raw)
        if not line:
            continue
        if not out:
            out = line
            continue
        end = _HYPHEN_END.search(out)
        start = _WORD_START.match(line)
        if end and start and not out.endswith(("--", " -")):
            left, right = end.group(1), start.group(1)
            joined = (left + right).lower()
            hyphenated = f"{left}-{right}".lower()
            vocab = vocabulary or Counter()
            if vocab[hyphenated] > vocab[joined] or (
                vocab[joined] == 0
                and vocab[right.lower()] > 0
                and len(right) > 3
                and out[end.start(1) - 1 : end.start(1)] != ""
                and vocab[left.lower()] > 0
            ):
                out = out[:-1] + "-" + line if out[-1] != "-" else out + line
            else:
                out = out[: end.end(1)] + line
            continue
        out = f"{out} {line}"
    return out


_TOKEN = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:[-'][A-Za-z\u00c0-\u024f]+)*")


def vocabulary(texts: Iterable[str]) -> Counter[str]:
    """How often each word (and each hyphenated compound) occurs, lower-cased."""
    counts: Counter[str] = Counter()
    for text in texts:
        for word in _TOKEN.findall(text):
            w = word.lower()
            counts[w] += 1
            if "-" in w:
                counts.update(w.split("-"))
    return counts


# the most frequent English words: real prose is full of them, broken text extraction is not
_FUNCTION_WORDS = frozenset(
    [
        "the",
        "of",
        "and",
        "to",
        "a",
        "in",
        "is",
        "that",
        "for",
        "it",
        "as",
        "was",
        "with",
        "be",
        "by",
        "on",
        "not",
        "he",
        "this",
        "are",
        "or",
        "his",
        "from",
        "at",
        "which",
        "but",
        "have",
        "an",
        "they",
        "you",
        "were",
        "their",
        "one",
        "all",
        "we",
        "can",
        "her",
        "has",
        "there",
        "been",
        "if",
        "more",
        "when",
        "will",
        "would",
        "who",
        "so",
        "no",
        "she",
        "other",
        "its",
        "may",
        "these",
        "what",
        "them",
        "than",
        "some",
        "him",
        "time",
        "into",
        "only",
        "do",
        "could",
        "new",
        "about",
        "two",
        "also",
        "our",
        "any",
        "your",
        "how",
        "should",
        "must",
        "each",
        "such",
    ]
)
_WORDLIKE = re.compile(r"^[a-z]+$|^[A-Z][a-z]+$|^[A-Z]{2,6}$")
_VOWEL = re.compile(r"[aeiouyAEIOUY]")
_CONSONANT_RUN = re.compile(r"[^aeiouyAEIOUY\W\d_]{5,}")


def unreadable_reason(text: str) -> str | None:
    """Why extracted text is not usable as words (None when it is): no text at all, glyph codes
    instead of letters, or letter soup from a font without a character map."""
    tokens = text.split()
    if len(tokens) < 5:
        return "no readable text (scanned pages or broken fonts?)"
    if text.count("(cid:") > len(tokens) * 0.05:
        return "no readable text: the fonts have no character map (scanned or broken fonts?)"
    words = [t.strip(".,;:!?()[]\"'“”‘’") for t in tokens]
    words = [w for w in words if w]
    letters = sum(c.isalpha() for c in text)
    visible = sum(not c.isspace() for c in text)
    if visible and letters / visible < 0.5:
        return "no readable text: mostly symbols (scanned or broken fonts?)"
    wordlike = sum(
        1 for w in words if _WORDLIKE.match(w) and _VOWEL.search(w) and not _CONSONANT_RUN.search(w)
    )
    function = sum(1 for w in words if w.lower() in _FUNCTION_WORDS)
    share = function / max(len(words), 1)
    if (wordlike / max(len(words), 1) < 0.6 and share < 0.05) or (
        len(words) >= 40 and share < 0.02
    ):
        return "no readable text: it does not read as words (scanned or broken fonts?)"
    return None


_URLISH = re.compile(r"://|^www\.|\.(?:html?|pdf|docx?|pptx?|xlsx?|indd|aspx?|php)\b", re.I)
_PREFIX = re.compile(r"^(?:microsoft\s+(?:word|powerpoint|excel)\s*-\s*)", re.I)


def clean_title(raw: object) -> str | None:
    """A metadata title only when it looks like one: never a URL or file name, never doubled
    ("Guide: XGuide: X" -> "Guide: X"), never a placeholder ("untitled", "Slide 1")."""
    if not isinstance(raw, str):
        return None
    title = _PREFIX.sub("", _one_line(raw)).strip(" -_|")
    if not title or _URLISH.search(title):
        return None
    title = _undouble(title)
    letters = sum(c.isalpha() for c in title)
    if letters < 4 or len(title) > 200:
        return None
    low = title.lower()
    if low in {"untitled", "title", "document", "presentation", "slide 1"} or re.search(
        r"\b(?:untitled|powerpoint|microsoft word|template\s*\d)\b", low
    ):
        return None
    if " " not in title and ("_" in title or re.search(r"\d{3,}", title)):
        return None  # a file or template name ("TFHv3_Deck_0123")
    return title


def _undouble(title: str) -> str:
    """Cut a title that repeats its own ending ("A: B C: DB C: D" -> "A: B C: D")."""
    n = len(title)
    for size in range(n // 2, 11, -1):
        tail = title[n - size :]
        at = title.find(tail)
        if at < n - size:
            return title[: n - size].rstrip(" -:|")
    return title


def words_title(name: str) -> str:
    """A file name in words: "future-of-it_workforce-2020.pdf" -> "Future of it workforce 2020"."""
    stem = name.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    words = re.sub(r"[-_.]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else name


MAX_UNPACKED_BYTES = 300_000_000
MAX_RATIO = 200


def check_zip(raw: bytes, needs: str) -> None:
    """Refuse an Office file that is not a zip holding `needs`, or whose members would unpack to
    far more than the file (a zip bomb), before any library opens it."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise Unreadable("not a valid Office file (it is not a zip archive)") from None
    if not any(i.filename.startswith(needs) for i in infos):
        raise Unreadable(f"not a valid Office file (no {needs.rstrip('/')} part)")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNPACKED_BYTES or total / packed > MAX_RATIO:
        raise Unreadable(
            f"refused: it would unpack to {total / 1e6:.0f} MB from {len(raw) / 1e6:.1f} MB "
            "(a damaged or hostile archive)"
        )
