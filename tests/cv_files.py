"""CVs written for the CV check's tests (tests/cvs/), and a PDF made from one with fpdf2."""

from __future__ import annotations

import json
from pathlib import Path

CVS = Path(__file__).resolve().parent / "cvs"


def cv_pdf(source: Path, target: Path) -> Path:
    """A real text PDF of a plain-text CV (Helvetica, one paragraph per line, A4 pages)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for line in source.read_text(encoding="utf-8").splitlines():
        pdf.multi_cell(0, 5, line or " ", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(target))
    return target


def cv_files(folder: Path) -> dict[str, Path]:
    """The CVs by the names expected.json uses (the PDF written into `folder`). The marketing
    manager's was written after the matching was tuned on the other three."""
    return {
        "nurse-manager.txt": CVS / "nurse-manager.txt",
        "data-analyst.md": CVS / "data-analyst.md",
        "marketing-manager.md": CVS / "marketing-manager.md",
        "it-project-manager.pdf": cv_pdf(
            CVS / "it-project-manager.txt", folder / "it-project-manager.pdf"
        ),
    }


def expected() -> dict:
    return json.loads((CVS / "expected.json").read_text(encoding="utf-8"))


def accuracy(checklist: dict, truth: dict[str, bool], names: dict[str, str]) -> tuple[float, list]:
    """Share of named items whose status (met/partly vs missing) is right, and the misses."""
    status = {i["item"]: i["status"] for i in checklist["items"]}
    wrong = []
    for named, present in truth.items():
        found = status[names[named]] != "missing"
        if found != present:
            wrong.append((named, status[names[named]], present))
    return 1 - len(wrong) / len(truth), wrong
