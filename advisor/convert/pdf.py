"""PDF: words with their positions and font sizes (pdfplumber) become paragraphs in reading order.

Per page: words are grouped into lines, a line is cut where a wide gap separates two columns,
and a two-column page is read column by column (full-width lines such as titles cut the page
into bands). Across pages: lines that repeat near the top or bottom of many pages (running
headers, footers, page numbers, a logo) are dropped. Small raised numbers inside a line are
footnote markers and are left out of the sentence. Lines join into paragraphs while the spacing
and size stay the same; a paragraph cut by a page or column break continues when it did not end
a sentence. Lines in a clearly larger (or bold, short) font become headings, with levels from
the sizes the document uses.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field

from .blocks import Builder, Converted, Unreadable, clean_title, join_lines, vocabulary

_GLYPHS = "\u2022\u25cf\u25aa\u25a0\u25e6\u2023\u2043\u2219\u00b7\uf0b7\uf0a7\u2013*-"
# (the glyphs go in a class of their own: "*-o" inside one class is the range * to o, which
# took every line opening with "A " or "I " for a list item)
# a symbol font's glyph (Wingdings' arrow or tick) comes out as a private-use code point
_PRIVATE = "\ue000-\uf8ff"
# a bullet glyph, "o", "3." or "3)", and a lettered sub-item ("a. Learn to use GitHub.")
_BULLET = re.compile(
    rf"^(?:[{re.escape(_GLYPHS)}{_PRIVATE}]|o|\d{{1,2}}[.)]|[a-z][.)](?=\s+[A-Z]))\s+"
)
_BULLET_ONLY = re.compile(rf"^[{re.escape(_GLYPHS)}{_PRIVATE}]$")
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}\s*\d*\s*$|\s\d{1,3}$")
_SENTENCE_END = re.compile(r"[.!?:;]['\"’”)\]]*$")
_LABEL = re.compile(r"\d{1,3}")


@dataclass
class Line:
    """A run of words on one baseline, within one column."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    page: int
    words: list[dict] = field(default_factory=list)
    note: bool = False  # starts with a footnote number

    @property
    def norm(self) -> str:
        return re.sub(r"\d+", "#", " ".join(self.text.lower().split()))


def convert_pdf(raw: bytes, name: str) -> Converted:
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    _check_encryption(raw)
    try:
        with pdfplumber.open(io.BytesIO(raw)) as pdf:
            meta = pdf.metadata or {}
            pages = [_page_lines(p, i) for i, p in enumerate(pdf.pages)]
            sizes = [(p.width, p.height) for p in pdf.pages]
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise Unreadable("the PDF is encrypted; save an unencrypted copy") from None
    except PDFSyntaxError as exc:
        raise Unreadable(f"broken PDF ({exc})") from None
    except Exception as exc:  # pdfminer raises many types on damaged files
        if "crypt" in f"{type(exc).__name__} {exc}".lower() or "password" in str(exc).lower():
            raise Unreadable("the PDF is encrypted; save an unencrypted copy") from None
        raise Unreadable(f"broken PDF ({type(exc).__name__}: {exc})") from None
    pages = _drop_furniture(pages, sizes)
    built = _build(pages)
    title = clean_title(meta.get("Title"))
    return Converted(built.text, title, built.page_starts, pages=len(pages))


def _check_encryption(raw: bytes) -> None:
    """pdfminer reports a password as an anonymous error; pypdf says what it is."""
    import logging

    from pypdf import PdfReader

    if not raw[:1024].lstrip().startswith(b"%PDF"):
        raise Unreadable("not a PDF file (it does not start with %PDF)")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are ours to word

    try:
        reader = PdfReader(io.BytesIO(raw))
        encrypted = reader.is_encrypted and not reader.decrypt("")
    except Exception as exc:  # pypdf raises many types on damaged files
        if "crypt" in f"{type(exc).__name__} {exc}".lower():
            encrypted = True
        else:
            return  # damaged: pdfminer says how
    if encrypted:
        raise Unreadable("the PDF is encrypted; save an unencrypted copy")


def _page_lines(page, number: int) -> list[Line]:  # type: ignore[no-untyped-def]
    words = page.extract_words(
        x_tolerance=1.5, y_tolerance=2, keep_blank_chars=False, extra_attrs=["size", "fontname"]
    )
    if not words:
        return []
    rows = _rows(words)
    gutter = _gutter(rows, page.width)
    lines: list[Line] = []
    for row in rows:
        row.sort(key=lambda w: w["x0"])
        size = max(Counter(round(w["size"], 1) for w in row).items(), key=lambda kv: kv[1])[0]
        base = max(w["bottom"] for w in row if round(w["size"], 1) == size)
        kept = [
            w
            for w in row
            if not (
                w["size"] < size * 0.8
                and re.fullmatch(r"[\d,*†‡]+", w["text"])
                and w["bottom"] < base - 1
            )
        ]
        # a footnote starts with its raised number: it is a paragraph of its own
        note = bool(kept) and kept[0] is not row[0]
        spans = gutter is not None and any(w["x0"] < gutter < w["x1"] for w in kept)
        piece: list[dict] = []
        for w in kept:
            gap = w["x0"] - piece[-1]["x1"] if piece else 0.0
            # a lone number set apart before a line's text is a label (a table's row number);
            # a number further along the line is a value and stays
            label = (
                len(piece) == 1
                and piece[0] is kept[0]
                and _LABEL.fullmatch(piece[0]["text"]) is not None
                and gap > size * 1.5
            )
            if label:
                piece = []
            elif piece and (
                (gutter is not None and not spans and piece[-1]["x1"] <= gutter <= w["x0"])
                or gap > size * 2.5
            ):
                lines.append(_line(piece, number))
                piece = []
            piece.append(w)
        if piece:
            lines.append(_line(piece, number))
        if note and kept:
            first = next(ln for ln in reversed(lines) if ln.words and ln.words[0] is kept[0])
            first.note = True
    return _reading_order(lines, gutter)


def _rows(words: list[dict]) -> list[list[dict]]:
    """Words grouped into rows that share a baseline. The page's text-size words go first,
    each row measured from its largest word (a chain of word-to-word steps drifts from one
    column's line into the next column's); then smaller words (footnote markers raised above
    a line, small print) join the row they sit in, nearest first, or make rows of their own."""
    chars: Counter[float] = Counter()
    for w in words:
        chars[round(w["size"], 1)] += len(w["text"])
    common = max(chars.items(), key=lambda kv: kv[1])[0]
    rows: list[list[dict]] = []
    refs: list[dict] = []  # each row's largest word

    def place(w: dict, window: int) -> bool:
        best: tuple[float, int] | None = None
        for i in range(len(rows) - 1, max(-1, len(rows) - 1 - window), -1):
            ref = refs[i]
            if abs(ref["bottom"] - w["bottom"]) > ref["size"] + w["size"]:
                continue
            same = abs(ref["bottom"] - w["bottom"]) <= max(ref["size"], w["size"]) * 0.5
            # a small word raised above the line's baseline (a footnote marker) is in it
            raised = w["size"] < ref["size"] * 0.8 and ref["top"] - 2 <= w["top"] <= ref["bottom"]
            if same or raised:
                gap = min(min(abs(w["x0"] - x["x1"]), abs(x["x0"] - w["x1"])) for x in rows[i])
                if best is None or gap < best[0]:
                    best = (gap, i)
        if best is None:
            return False
        rows[best[1]].append(w)
        if w["size"] > refs[best[1]]["size"] * 1.05:
            refs[best[1]] = w
        return True

    ordered = sorted(words, key=lambda w: (round(w["bottom"]), w["x0"]))
    for w in (w for w in ordered if w["size"] >= common * 0.8):
        if not place(w, 40):  # rows come in order of their baselines: the last few
            rows.append([w])
            refs.append(w)
    for w in (w for w in ordered if w["size"] < common * 0.8):
        if not place(w, len(rows)):
            rows.append([w])
            refs.append(w)
    return sorted(rows, key=lambda row: (round(max(x["bottom"] for x in row)), row[0]["x0"]))


def _line(words: list[dict], page: int) -> Line:
    sizes = Counter(round(w["size"], 1) for w in words)
    size = max(sizes.items(), key=lambda kv: kv[1])[0]
    bold = sum(len(w["text"]) for w in words if "bold" in w["fontname"].lower()) > 0.6 * sum(
        len(w["text"]) for w in words
    )
    text = words[0]["text"]
    for prev, w in zip(words, words[1:], strict=False):
        glued = w["x0"] - prev["x1"] < size * 0.12 or w["text"][:1] in ",.;:)!?%"
        text += ("" if glued else " ") + w["text"]
    return Line(
        text=text,
        x0=min(w["x0"] for w in words),
        x1=max(w["x1"] for w in words),
        top=min(w["top"] for w in words),
        bottom=max(w["bottom"] for w in words),
        size=size,
        bold=bold,
        page=page,
        words=words,
    )


def _reading_order(lines: list[Line], gutter: float | None) -> list[Line]:
    """Top to bottom; on a two-column page, left column then right within each band between
    full-width lines."""
    lines.sort(key=lambda ln: (round(ln.top), ln.x0))
    if gutter is None:
        return lines
    out: list[Line] = []
    left: list[Line] = []
    right: list[Line] = []
    for ln in lines:
        if ln.x0 < gutter < ln.x1:  # spans the gutter: a band ends
            out.extend(left + right)
            left, right = [], []
            out.append(ln)
        elif ln.x1 <= gutter:
            left.append(ln)
        else:
            right.append(ln)
    return out + left + right


def _gutter(rows: list[list[dict]], width: float) -> float | None:
    """The x of an empty vertical strip between two columns of text, if the page has one: few
    rows cross it, and many rows hold words on both sides of it."""
    if len(rows) < 8:
        return None
    best: tuple[int, int, float] | None = None
    for step in range(30, 71):
        x = width * step / 100
        cross = both = 0
        left_words = right_words = 0
        for row in rows:
            if any(w["x0"] < x < w["x1"] for w in row):
                cross += 1
                continue
            lw = sum(1 for w in row if w["x1"] <= x)
            rw = len(row) - lw
            left_words += lw
            right_words += rw
            both += lw >= 2 and rw >= 2
        if both >= 5 and min(left_words, right_words) >= 40 and cross <= 0.4 * len(rows):
            key = (cross - both, cross, x)
            if best is None or key < best:
                best = key
    return best[2] if best else None


def _is_cell_value(ln: Line, lines: list[Line]) -> bool:
    """A bare number with text on both sides in its row ("Baselining effort | 100 | day"): a
    table's value, however many pages have bare numbers (page numbers, margin labels)."""
    if ln.norm.strip("#., "):
        return False
    row = [o for o in lines if o is not ln and abs(o.top - ln.top) < 2]
    return any(o.x1 <= ln.x0 for o in row) and any(o.x0 >= ln.x1 for o in row)


def _drop_furniture(pages: list[list[Line]], sizes: list[tuple[float, float]]) -> list[list[Line]]:
    """Drop running headers and footers, page numbers and repeated logos: lines whose text
    (digits aside) recurs near the same edge of many pages, or a bare number in a margin."""
    n = len(pages)
    counts: Counter[tuple[str, str]] = Counter()
    anywhere: Counter[str] = Counter()
    for i, lines in enumerate(pages):
        height = sizes[i][1]
        seen: set[tuple[str, str]] = set()
        for ln in lines:
            zone = _zone(ln, height)
            if zone:
                seen.add((zone, ln.norm))
        counts.update(seen)
        anywhere.update({ln.norm for ln in lines})
    need = max(3, int(n * 0.3))
    out = []
    for i, lines in enumerate(pages):
        height = sizes[i][1]
        kept = []
        for ln in lines:
            zone = _zone(ln, height)
            if zone and (counts[(zone, ln.norm)] >= need or _PAGE_NUMBER.match(ln.text.strip())):
                continue
            if (
                n >= 6
                and anywhere[ln.norm] >= max(4, n * 0.6)
                and len(ln.text.split()) <= 4
                and not _is_cell_value(ln, lines)
            ):
                continue  # a logo or label on every page
            if _DOT_LEADER.search(ln.text) and "...." in ln.text.replace(" ", ""):
                continue  # a table of contents line
            kept.append(ln)
        out.append(kept)
    return out


def _zone(ln: Line, height: float) -> str | None:
    if ln.bottom < height * 0.1:
        return "top"
    if ln.top > height * 0.9:
        return "bottom"
    return None


@dataclass
class _Para:
    lines: list[Line]
    kind: str  # paragraph | item | heading
    level: int = 0


def _build(pages: list[list[Line]]) -> Converted:
    all_lines = [ln for lines in pages for ln in lines]
    builder = Builder()
    if not all_lines:
        return builder.build(pages=len(pages))
    chars: Counter[float] = Counter()
    for ln in all_lines:
        chars[ln.size] += len(ln.text)
    body = max(chars.items(), key=lambda kv: kv[1])[0]
    vocab = vocabulary(ln.text for ln in all_lines)

    # 1. lines -> paragraphs and list items, by spacing, size and bullets
    paras: list[_Para] = []
    for lines in pages:
        prev: Line | None = None
        for ln in lines:
            cur = paras[-1] if paras else None
            if _BULLET_ONLY.match(ln.text.strip()):
                paras.append(_Para([], "item"))
                prev = ln
                continue
            if cur is not None and cur.kind == "item" and not cur.lines:
                cur.lines.append(ln)
            elif _BULLET.match(ln.text) and len(ln.text.split()) > 1:
                paras.append(_Para([ln], "item"))
            elif cur is not None and cur.lines and not ln.note and _continues(cur, prev, ln):
                cur.lines.append(ln)
            else:
                paras.append(_Para([ln], "paragraph"))
            prev = ln
    paras = [p for p in paras if p.lines]

    # 2. headings: short paragraphs in a larger font (levels by size), or short bold ones
    def is_heading(p: _Para) -> bool:
        text = " ".join(ln.text for ln in p.lines)
        words = len(text.split())
        if p.kind != "paragraph" or words > 18 or not any(c.isalpha() for c in text):
            return False
        size = p.lines[0].size
        if size >= body * 1.15:
            return True
        return (
            all(ln.bold for ln in p.lines)
            and words <= 16
            and size >= body * 0.95
            and not _SENTENCE_END.search(text)
        )

    heads = [p for p in paras if is_heading(p)]
    sizes = sorted({round(p.lines[0].size) for p in heads}, reverse=True)
    for p in heads:
        p.kind = "heading"
        rank = sizes.index(round(p.lines[0].size))
        p.level = min(rank + 1, 4) if p.lines[0].size >= body * 1.15 else min(len(sizes) + 1, 5)

    # 3. write, with a page break before each page's first paragraph
    current_page = -1
    for para in paras:
        page = para.lines[0].page
        while current_page < page:
            builder.page()
            current_page += 1
        text = join_lines((ln.text for ln in para.lines), vocab)
        if para.kind == "heading":
            builder.heading(text, para.level)
        elif para.kind == "item":
            builder.item(_BULLET.sub("", text, count=1))
        else:
            builder.paragraph(text)
    while current_page < len(pages) - 1:
        builder.page()
        current_page += 1
    return builder.build(pages=len(pages))


def _continues(cur: _Para, prev: Line | None, ln: Line) -> bool:
    """Does `ln` continue the paragraph `cur` (whose last line is `prev`)?"""
    last = cur.lines[-1]
    if (
        abs(last.size - ln.size) > max(0.6, last.size * 0.08)
        or last.bold != ln.bold
        and (len(cur.lines) == 1 and len(last.text.split()) <= 12)
    ):
        return False
    # a sentence that did not end goes on after a page or column break: certainly when the
    # next line starts in lower case, and also when a long paragraph stopped mid-sentence
    long_paragraph = sum(len(x.text.split()) for x in cur.lines) >= 8
    unfinished = not _SENTENCE_END.search(last.text) and (
        ln.text[:1].islower() or (long_paragraph and ln.text[:1].isalpha())
    )
    if prev is None or prev is not last:  # a page or column break came in between
        return unfinished
    gap = ln.top - last.bottom
    if gap > ln.size * 0.9 or gap < -ln.size * 0.5:
        # a new column or a wider gap: only an unfinished sentence goes on, in plain text (a
        # bold title above its plain text, or above a bold subtitle, is a heading of its own,
        # however long, unless the next line goes on in lower case)
        plain = not last.bold and not ln.bold
        return unfinished and (plain or ln.text[:1].islower())
    if cur.kind == "item":
        return ln.x0 > cur.lines[0].x0 + 2 or not _SENTENCE_END.search(last.text)
    return True
