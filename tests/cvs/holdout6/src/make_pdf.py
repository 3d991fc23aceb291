"""Build it-project-manager.pdf (A4, two pages) from it-project-manager.txt.

Layout rules for the source text:
  line 1            name
  line 2            job title
  line 3            contact line
  ALL-CAPS line     section heading
  "- " line         bullet
  line followed by a line containing " | "  -> role title (bold)
  line containing " | " after a role title   -> employer and dates (italic)
  anything else     paragraph
Exits with status 1 if the result is not exactly two pages.
"""
import os
import sys

from fpdf import FPDF

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "it-project-manager.txt")
OUT = os.path.join(os.path.dirname(HERE), "it-project-manager.pdf")

REPLACE = {
    "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
    "\u201c": '"', "\u201d": '"', "\u2022": "-", "\u2026": "...",
    "\u00a0": " ", "\u2192": "->", "\u00a3": "GBP ",
}


def clean(text):
    for bad, good in REPLACE.items():
        text = text.replace(bad, good)
    # anything left that Helvetica (latin-1) cannot encode becomes "?"
    return text.encode("latin-1", "replace").decode("latin-1")


def is_heading(line):
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters) and not line.startswith("- ")


def main():
    with open(SRC, encoding="utf-8") as fh:
        lines = [clean(line.rstrip("\n")) for line in fh]

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_title("CV - Daniel Okonjo-Ferris")
    pdf.set_author("Daniel Okonjo-Ferris")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    body, lh = 10.5, 5.4

    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width, 10, lines[0], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12.5)
    pdf.cell(width, 7, lines[1], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9.5)
    pdf.cell(width, 6, lines[2], new_x="LMARGIN", new_y="NEXT")

    rest = lines[3:]
    for i, line in enumerate(rest):
        nxt = rest[i + 1] if i + 1 < len(rest) else ""
        if not line.strip():
            pdf.ln(2)
            continue
        if is_heading(line):
            if pdf.y > pdf.h - pdf.b_margin - 30:
                pdf.add_page()
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", 12)
            pdf.cell(width, 7, line, new_x="LMARGIN", new_y="NEXT")
            pdf.set_draw_color(90, 90, 90)
            pdf.line(pdf.l_margin, pdf.y, pdf.l_margin + width, pdf.y)
            pdf.ln(2.5)
        elif line.startswith("- "):
            pdf.set_font("Helvetica", "", body)
            if pdf.y + 2 * lh > pdf.page_break_trigger:
                pdf.add_page()
            y = pdf.y
            pdf.set_x(pdf.l_margin + 1.5)
            pdf.cell(4, lh, "-")
            pdf.set_xy(pdf.l_margin + 6, y)
            pdf.multi_cell(width - 6, lh, line[2:], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif " | " in nxt and not nxt.startswith("- ") and " | " not in line:
            if pdf.y > pdf.h - pdf.b_margin - 25:
                pdf.add_page()
            pdf.ln(1)
            pdf.set_font("Helvetica", "B", 11)
            pdf.cell(width, 6, line, new_x="LMARGIN", new_y="NEXT")
        elif " | " in line:
            pdf.set_font("Helvetica", "I", 10)
            pdf.cell(width, 5.5, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(0.5)
        else:
            pdf.set_font("Helvetica", "", body)
            pdf.multi_cell(width, lh, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)

    pdf.output(OUT)
    pages = pdf.pages_count
    if pages != 2:
        print(f"error: {OUT} has {pages} pages, expected exactly 2", file=sys.stderr)
        sys.exit(1)
    print(f"wrote {OUT} ({pages} pages)")


if __name__ == "__main__":
    main()
