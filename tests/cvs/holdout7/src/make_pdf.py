"""Build it-project-manager.pdf (two A4 pages, real text layer) from
it-project-manager.txt using fpdf2 and the core Helvetica font.

Usage: python make_pdf.py
Exits with an error if the result is not exactly two pages.
"""
import sys
from pathlib import Path

from fpdf import FPDF

HERE = Path(__file__).resolve().parent
SRC = HERE / "it-project-manager.txt"
OUT = HERE.parent / "it-project-manager.pdf"

REPLACEMENTS = {
    "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
    "\u201c": '"', "\u201d": '"', "\u2022": "-", "\u2026": "...",
    "\u00a0": " ",
}


def clean(text: str) -> str:
    """Replace characters the core fonts (latin-1) cannot encode."""
    for bad, good in REPLACEMENTS.items():
        text = text.replace(bad, good)
    return text.encode("latin-1", "replace").decode("latin-1")


def is_heading(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def build() -> int:
    lines = [clean(line.rstrip("\n")) for line in SRC.read_text(encoding="utf-8").splitlines()]
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title("Martin Haldane - CV")
    pdf.set_author("Martin Haldane")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    # Header block: name, title line, contact line.
    name, title, contact = lines[0], lines[1], lines[2]
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width, 10, name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(width, 7, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(width, 6, contact, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    for line in lines[3:]:
        if not line.strip():
            pdf.ln(2)
            continue
        if is_heading(line):
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 12)
            pdf.cell(width, 7, line, new_x="LMARGIN", new_y="NEXT")
            y = pdf.get_y()
            pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
            pdf.ln(2)
        elif line.startswith("- "):
            pdf.set_font("Helvetica", "", 10.5)
            # Keep each bullet on one page.
            n = len(pdf.multi_cell(width - 6, 5.6, line[2:], dry_run=True, output="LINES"))
            if pdf.get_y() + n * 5.6 > pdf.page_break_trigger:
                pdf.add_page()
            pdf.set_x(pdf.l_margin + 2)
            pdf.cell(4, 5.6, "-")
            pdf.multi_cell(width - 6, 5.6, line[2:], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif " | " in line:
            pdf.ln(1)
            pdf.set_font("Helvetica", "B", 11)
            pdf.multi_cell(width, 6.5, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        else:
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(width, 5.6, line, new_x="LMARGIN", new_y="NEXT")

    pages = pdf.page_no()
    pdf.output(str(OUT))
    if pages != 2:
        print(f"error: {OUT.name} has {pages} page(s), expected exactly 2", file=sys.stderr)
        return 1
    print(f"wrote {OUT} ({pages} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(build())
