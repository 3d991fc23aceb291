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


def _lazy(module: str, function: str) -> Converter:
    """A converter imported on first use: each pulls in a heavy library (pdfplumber, lxml)."""

    def convert(raw: bytes, name: str) -> Converted:
        from importlib import import_module

        return getattr(import_module(f".{module}", __name__), function)(raw, name)

    return convert


# file suffix -> (format name shown to users, converter); Markdown and text are read as they are
CONVERTERS: dict[str, tuple[str, Converter]] = {
    ".pdf": ("PDF", _lazy("pdf", "convert_pdf")),
    ".docx": ("Word", _lazy("office", "convert_docx")),
    ".pptx": ("PowerPoint", _lazy("office", "convert_pptx")),
    ".html": ("HTML", _lazy("html", "convert_html")),
    ".htm": ("HTML", _lazy("html", "convert_html")),
    ".xlsx": ("Excel", _lazy("sheet", "convert_xlsx")),
    ".csv": ("CSV", _lazy("sheet", "convert_csv")),
}

__all__ = ["CONVERTERS", "Converted", "Converter", "Unreadable"]
