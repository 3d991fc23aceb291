"""Converters: each file format becomes the same structured text the splitter reads.

A converter turns a file's bytes into Markdown-shaped text (headings, one paragraph per line,
list items, table rows as "Column: value" items) plus the offsets where pages or slides start.
That text is what the advisor "loaded": citations index it, and `advisor show` prints it. The
layout work (columns, running headers, footnote markers, hyphenated line breaks, headings from
font sizes or styles, the main content of a web page) happens here, once, so every later stage
sees whole sentences.
"""

from __future__ import annotations

from collections.abc import Callable

from .blocks import Converted, Unreadable

Converter = Callable[[bytes, str], Converted]


def _pdf(raw: bytes, name: str) -> Converted:
    from .pdf import convert_pdf

    return convert_pdf(raw, name)


def _docx(raw: bytes, name: str) -> Converted:
    from .office import convert_docx

    return convert_docx(raw, name)


def _pptx(raw: bytes, name: str) -> Converted:
    from .office import convert_pptx

    return convert_pptx(raw, name)


def _html(raw: bytes, name: str) -> Converted:
    from .html import convert_html

    return convert_html(raw, name)


def _xlsx(raw: bytes, name: str) -> Converted:
    from .sheet import convert_xlsx

    return convert_xlsx(raw, name)


def _csv(raw: bytes, name: str) -> Converted:
    from .sheet import convert_csv

    return convert_csv(raw, name)


# file suffix -> (format name shown to users, converter); Markdown and text are read as they are
CONVERTERS: dict[str, tuple[str, Converter]] = {
    ".pdf": ("PDF", _pdf),
    ".docx": ("Word", _docx),
    ".pptx": ("PowerPoint", _pptx),
    ".html": ("HTML", _html),
    ".htm": ("HTML", _html),
    ".xlsx": ("Excel", _xlsx),
    ".csv": ("CSV", _csv),
}

__all__ = ["CONVERTERS", "Converted", "Converter", "Unreadable"]
