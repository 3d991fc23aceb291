"""Spreadsheets and CSV: every row becomes one item that names its columns ("Occupation:
Chief executives; Employment, 2019: 287.9"), under a heading per sheet (its title cell when it
has one). A row is a unit of its own, never split into sentences."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from .blocks import Builder, Converted, Unreadable, check_zip, words_title

MAX_ROWS = 20_000  # per sheet: beyond this a workbook is data, not a document to quote


def _cell(value: object, number_format: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            value = int(value)
        if number_format and "#,##0" in number_format:  # as the sheet shows it: 1,361.8
            fraction = number_format.split(".", 1)[1] if "." in number_format else ""
            decimals = min(len(fraction.split(";")[0].rstrip("_)% ")), 6)
            return f"{value:,.{decimals}f}"
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        if isinstance(value, dt.datetime) and value.time():
            return value.isoformat(sep=" ")
        return value.isoformat()[:10]
    return " ".join(str(value).split())


def _table(rows: list[list[str]], name: str, builder: Builder) -> None:
    """Title rows (one filled cell) above the header, the header (the first row with two or
    more filled cells), data rows as items, and one-cell rows below as notes."""
    filled = [sum(1 for c in r if c) for r in rows]
    header_at = next((i for i, n in enumerate(filled) if n >= 2), None)
    titles = [next(c for c in r if c) for r, n in zip(rows, filled, strict=True) if n == 1]
    if header_at is None:
        builder.heading(titles[0] if titles else name, 2)
        for r in rows:
            builder.paragraph(" ".join(c for c in r if c))
        return
    above = [next(c for c in r if c) for r in rows[:header_at] if any(r)]
    builder.heading(above[0] if above else name, 2)
    for extra in above[1:]:
        builder.paragraph(extra)
    header = [re.sub(r"\s+", " ", h) for h in rows[header_at]]
    notes: list[str] = []
    for r, n in zip(rows[header_at + 1 :], filled[header_at + 1 :], strict=True):
        if n == 0:
            continue
        if n == 1 and r[0] and len(header) > 2 and (len(r[0].split()) > 6 or r[0].endswith(":")):
            notes.append(r[0])  # a footnote or source line under the table, or their label
            continue
        builder.row(header, r)
    for note in notes:
        builder.paragraph(note)


def convert_xlsx(raw: bytes, name: str) -> Converted:
    check_zip(raw, "xl/")
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on damaged files
        raise Unreadable(f"not a readable Excel file ({type(exc).__name__}: {exc})") from None
    builder = Builder()
    sheets = 0
    try:
        for sheet in book.worksheets:
            rows: list[list[str]] = []
            for row in sheet.iter_rows():
                if len(rows) >= MAX_ROWS:
                    break
                rows.append([_cell(c.value, getattr(c, "number_format", None)) for c in row])
            while rows and not any(rows[-1]):
                rows.pop()
            if not rows:
                continue
            sheets += 1
            builder.page()
            _table(rows, sheet.title, builder)
    finally:
        book.close()
    if builder.empty:
        raise Unreadable("no cells with text in the workbook")
    title = book.properties.title if book.properties else None
    from .blocks import clean_title

    return builder.build(title=clean_title(title), pages=sheets)


def convert_csv(raw: bytes, name: str) -> Converted:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    try:
        rows = [[" ".join(c.split()) for c in r] for r in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise Unreadable(f"malformed CSV ({exc})") from None
    rows = [r for r in rows if any(r)]
    if not rows:
        raise Unreadable("empty CSV")
    builder = Builder()
    _table(rows[: MAX_ROWS + 1], words_title(name), builder)
    return builder.build()
