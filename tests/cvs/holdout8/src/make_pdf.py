"""Build ../it-project-manager.pdf from it-project-manager.txt with fpdf2.

Input format (one paragraph or bullet per line):
  line 1 = name, line 2 = headline, line 3 = contact details,
  ALL-CAPS lines = section headings, lines with "(YYYY" = role headings,
  lines starting "- " = bullets, anything else = plain paragraph.
The script exits with an error unless the PDF has exactly two A4 pages.
"""
import re
import sys
from pathlib import Path

from fpdf import FPDF

HERE = Path(__file__).resolve().parent
SRC = HERE / "it-project-manager.txt"
OUT = HERE.parent / "it-project-manager.pdf"

REPLACEMENTS = {
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"',
    "\u201d": '"', "\u201e": '"', "\u2026": "...", "\u2022": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ",
}


def clean(text: str) -> str:
    """Make text encodable in Helvetica (core font, latin-1)."""
    for bad, good in REPLACEMENTS.items():
        text = text.replace(bad, good)
    return text.encode("latin-1", errors="replace").decode("latin-1")


def is_heading(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and line.upper() == line and len(line) < 40


def main() -> None:
    lines = [clean(ln.rstrip()) for ln in SRC.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    if len(lines) < 4:
        sys.exit("source text too short")

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title("Harriet Oyelaran-Pike - CV")
    pdf.set_author("Harriet Oyelaran-Pike")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    name, headline, contact, body = lines[0], lines[1], lines[2], lines[3:]
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width, 10, name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(width, 7, headline, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(width, 6, contact, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    for line in body:
        if line.startswith("- "):
            pdf.set_font("Helvetica", "", 11)
            pdf.set_x(pdf.l_margin + 2)
            pdf.cell(4, 6, "-")
            pdf.multi_cell(width - 6, 6, line[2:], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif is_heading(line):
            pdf.ln(4)
            pdf.set_font("Helvetica", "B", 13)
            pdf.cell(width, 8, line, new_x="LMARGIN", new_y="NEXT")
            y = pdf.get_y()
            pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
            pdf.ln(2)
        elif re.search(r"\(\d{4}", line):
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 11)
            pdf.multi_cell(width, 6, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        else:
            pdf.set_font("Helvetica", "", 11)
            pdf.multi_cell(width, 6, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)

    pages = pdf.page_no()
    if pages != 2:
        sys.exit(f"error: PDF would have {pages} page(s), expected exactly 2")
    pdf.output(str(OUT))
    print(f"wrote {OUT} ({pages} pages)")


if __name__ == "__main__":
    main()
