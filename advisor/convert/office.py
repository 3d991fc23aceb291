"""Word and PowerPoint: headings from styles (or typed section numbers), lists, tables as rows,
layout tables read cell by cell, slides one page each with their title as a heading."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from .blocks import Builder, Converted, Unreadable, check_zip, clean_title, join_lines

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre)\s*(\d)", re.I)
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s*\t\s*(\S.*)$")
_PLACEHOLDER = re.compile(r"^\[[^\]]{1,80}\]$")
_SENTENCE_END = re.compile(r"[.!?:;]['\"’”)\]]*$")


# ---------------------------------------------------------------- Word


def convert_docx(raw: bytes, name: str) -> Converted:
    check_zip(raw, "word/")
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise Unreadable(f"not a readable Word file ({type(exc).__name__})") from None
    except Exception as exc:  # lxml and zip errors on damaged files
        raise Unreadable(f"broken Word file ({type(exc).__name__}: {exc})") from None
    builder = Builder()
    _docx_blocks(document.element.body, document, builder, depth=0)
    if builder.empty:
        raise Unreadable("no text in the document")
    title = clean_title(document.core_properties.title)
    return builder.build(title=title)


def _docx_blocks(parent, document, builder: Builder, depth: int) -> None:  # type: ignore[no-untyped-def]
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in parent.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            _docx_paragraph(Paragraph(child, document), builder)
        elif tag == "tbl" and depth < 4:
            _docx_table(Table(child, document), document, builder, depth)
        elif tag == "sdt":  # content controls hold ordinary paragraphs
            content = child.find("{*}sdtContent")
            if content is not None:
                _docx_blocks(content, document, builder, depth)


def _docx_paragraph(p, builder: Builder) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(p.text.replace("\t", " \t ").split(" ")).strip()
    flat = " ".join(text.split())
    if not flat:
        return
    style = (p.style.name if p.style is not None else "") or ""
    if style.lower() == "title":
        builder.heading(flat, 1)
        return
    if m := _HEADING_STYLE.match(style):
        builder.heading(flat, int(m.group(1)) + 1)
        return
    if (m := _NUMBERED.match(p.text.strip())) and len(m.group(2).split()) <= 12:
        # "2.1<tab>Product Vision": a section number typed by hand
        builder.heading(f"{m.group(1)} {m.group(2)}", min(m.group(1).count(".") + 2, 6))
        return
    numbered = p._p.pPr is not None and p._p.pPr.numPr is not None
    if numbered or "list" in style.lower():
        builder.item(flat)
        return
    runs = [r for r in p.runs if r.text.strip()]
    if (
        runs
        and all(r.bold for r in runs)
        and len(flat.split()) <= 12
        and not _SENTENCE_END.search(flat)
    ):
        builder.heading(flat, 5)
        return
    builder.paragraph(flat)


def _unique_cells(row, seen: dict[int, object]) -> Iterator:  # type: ignore[no-untyped-def]
    """A merged cell is repeated for every grid column and row it spans: read it once (the
    elements are kept in `seen`, so their ids stay theirs)."""
    for cell in row.cells:
        if id(cell._tc) not in seen:
            seen[id(cell._tc)] = cell._tc
            yield cell


def _docx_table(table, document, builder: Builder, depth: int) -> None:  # type: ignore[no-untyped-def]
    seen: dict[int, object] = {}
    rows = [cells for r in table.rows if (cells := list(_unique_cells(r, seen)))]
    if not rows:
        return
    words = [len(c.text.split()) for r in rows for c in r]
    layout = (
        len(rows) == 1
        or max(len(r) for r in rows) == 1
        or max(words, default=0) > 40
        or any(len(c.paragraphs) > 3 for r in rows for c in r)
    )
    if layout:  # a table used for layout or a shaded note: its cells are ordinary text
        for r in rows:
            for cell in r:
                _docx_blocks(cell._tc, document, builder, depth + 1)
        return
    header = [" ".join(c.text.split()) for c in rows[0]]
    for r in rows[1:]:
        builder.row(header, [" ".join(c.text.split()) for c in r])


# ---------------------------------------------------------------- PowerPoint


def convert_pptx(raw: bytes, name: str) -> Converted:
    check_zip(raw, "ppt/")
    import pptx
    from pptx.exc import PackageNotFoundError

    try:
        deck = pptx.Presentation(io.BytesIO(raw))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise Unreadable(f"not a readable PowerPoint file ({type(exc).__name__})") from None
    except Exception as exc:
        raise Unreadable(f"broken PowerPoint file ({type(exc).__name__}: {exc})") from None
    builder = Builder()
    slides = 0
    for number, slide in enumerate(deck.slides, 1):
        slides += 1
        builder.page()
        shapes = sorted(slide.shapes, key=lambda s: ((s.top or 0) // 20_000, s.left or 0))
        title_shape = slide.shapes.title
        if title_shape is None or not _frame_text(title_shape):
            # no title placeholder: the topmost short text box names the slide
            title_shape = next(
                (s for s in shapes if 0 < len(_frame_text(s).split()) <= 8), None
            )
        title = _frame_text(title_shape) if title_shape is not None else ""
        builder.heading(title or f"Slide {number}", 2)
        title_id = title_shape.shape_id if title_shape is not None else None
        shapes = [s for s in shapes if s.shape_id != title_id]
        for shape in shapes:
            _pptx_shape(shape, builder)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            text = " ".join(notes.text.split()) if notes is not None else ""
            if text and not _PLACEHOLDER.match(text):
                builder.paragraph(f"Speaker notes: {text}")
    if builder.empty:
        raise Unreadable("no text in the presentation")
    return builder.build(title=clean_title(deck.core_properties.title), pages=slides)


def _frame_text(shape) -> str:  # type: ignore[no-untyped-def]
    if not getattr(shape, "has_text_frame", False):
        return ""
    return " ".join(shape.text_frame.text.split())


def _pptx_shape(shape, builder: Builder) -> None:  # type: ignore[no-untyped-def]
    if shape.shape_type is not None and shape.shape_type == 6:  # a group: its shapes in order
        for sub in sorted(shape.shapes, key=lambda s: ((s.top or 0) // 20_000, s.left or 0)):
            _pptx_shape(sub, builder)
        return
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [[" ".join(c.text.split()) for c in r.cells] for r in shape.table.rows]
        if rows:
            for r in rows[1:]:
                builder.row(rows[0], r)
        return
    if not getattr(shape, "has_text_frame", False):
        return
    paragraphs = [
        (p.level, " ".join("".join(r.text for r in p.runs).split()))
        for p in shape.text_frame.paragraphs
    ]
    paragraphs = [(lvl, t) for lvl, t in paragraphs if t and not _PLACEHOLDER.match(t)]
    if not paragraphs:
        return
    is_body = shape.is_placeholder and len(paragraphs) > 1
    if len(paragraphs) == 1 and not is_body:
        builder.paragraph(paragraphs[0][1])
        return
    texts = [t for _, t in paragraphs]
    if not is_body and all(_SENTENCE_END.search(t) for t in texts):
        builder.paragraph(join_lines(texts))
        return
    for lvl, text in paragraphs:
        builder.item(text, min(lvl, 3))
