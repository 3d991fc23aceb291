"""HTML: the main content of the page only (trafilatura), with its headings, lists and tables;
navigation, banners, forms, scripts, footers and side panels are left out."""

from __future__ import annotations

import re

from .blocks import Builder, Converted, Unreadable, clean_title, join_lines

_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d{1,3}[.)])\s+(.*)$")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}")


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unreadable("not UTF-8 text; save the page as UTF-8")


def _config():  # type: ignore[no-untyped-def]
    """trafilatura's defaults, but a short page is still a page (its default minimum is 250
    characters of main text)."""
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


def convert_html(raw: bytes, name: str) -> Converted:
    import trafilatura

    html = _decode(raw)
    main = trafilatura.extract(
        html,
        config=_config(),
        output_format="markdown",
        include_tables=True,
        include_links=False,
        include_images=False,
        include_comments=False,
        favor_recall=True,
    )
    if not main or not main.strip():
        # a page trafilatura finds no article in (a bare fragment): all of its visible text
        main = trafilatura.html2txt(html) or ""
    title_tag = _TITLE.search(html)
    page_title = " ".join(title_tag.group(1).split()) if title_tag else None
    builder = Builder()
    first_heading = None
    table_header: list[str] | None = None
    para: list[str] = []

    def flush() -> None:
        if para:
            builder.paragraph(join_lines(para))
            para.clear()

    for line in _EMPHASIS.sub(r"\2", main).splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
            table_header = None
            continue
        if m := _HEADING.match(stripped):
            flush()
            builder.heading(m.group(2), len(m.group(1)))
            first_heading = first_heading or m.group(2).strip()
            continue
        if stripped.startswith("|"):
            flush()
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if _TABLE_RULE.match(stripped):
                continue
            if table_header is None:
                table_header = cells
            else:
                builder.row(table_header, cells)
            continue
        if m := _ITEM.match(line):
            flush()
            builder.item(m.group(2), min(len(m.group(1)) // 2, 3))
            continue
        para.append(stripped)
    flush()
    if builder.empty:
        raise Unreadable("no readable text in the page")
    import html as entities

    title = _page_title(entities.unescape(page_title) if page_title else None, first_heading)
    return builder.build(title=title)


def _page_title(raw: str | None, first_heading: str | None) -> str | None:
    """A page title without the site name: the part ("Site | Page") that is the page's own
    heading, else the longest part."""
    title = clean_title(raw)
    if not title:
        return clean_title(first_heading)
    parts = [p.strip() for p in re.split(r"\s+[|\u2013\u2014-]\s+", title) if p.strip()]
    if len(parts) > 1:
        if first_heading:
            for part in parts:
                if part.casefold() == first_heading.casefold():
                    return part
        return max(parts, key=len)
    return title
