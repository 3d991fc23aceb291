"""The human-readable side of an eval: a rich table for the console and a self-contained HTML page.

The page has no external scripts, fonts or stylesheets (the machine may be offline): the chart is
inline SVG bars, and every piece of text from a dataset or an answer is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from .metrics import COUNTS, METRICS
from .runner import CaseResult
from .stats import is_nan

_GROUP_COLOURS = {
    "retrieval": "#3b6ea8",
    "answers": "#2f8a5b",
    "grounding": "#8a5a2f",
    "focus": "#7a4a9a",
}
WORST = 10  # cases shown in each "least focused" list


def fmt(value: object, unit: str = "") -> str:
    """A metric value for people: 3 decimals, milliseconds as integers, NaN as 'n/a'."""
    if value is None or is_nan(value):
        return "n/a"
    if unit == "ms":
        return f"{float(value):,.0f} ms"  # type: ignore[arg-type]
    if unit:
        return f"{float(value):,.1f} {unit}"  # type: ignore[arg-type]
    return f"{float(value):.3f}"  # type: ignore[arg-type]


# --- console --------------------------------------------------------------------------------


def summary_table(
    summary: dict[str, Any],
    minimums: dict[str, float],
    title: str,
    maximums: dict[str, float] | None = None,
) -> Any:
    """A rich Table: one row per metric with the number of cases it rests on and any minimum
    (or, where lower is better, maximum)."""
    maximums = maximums or {}
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("group", "left"),
        ("metric", "left"),
        ("value", "right"),
        ("over", "right"),
        ("limit", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    group = ""
    for m in METRICS.values():
        value = summary.get(m.name)
        minimum, maximum = minimums.get(m.name), maximums.get(m.name)
        style, limit = "", ""
        known = isinstance(value, int | float) and not is_nan(value)
        if minimum is not None:
            style = "green" if known and value >= minimum else "red"  # type: ignore[operator]
            limit = f">= {minimum:g}"
        elif maximum is not None:
            style = "green" if known and value <= maximum else "red"  # type: ignore[operator]
            limit = f"<= {maximum:g}"
        table.add_row(
            m.group if m.group != group else "",
            m.label + ("" if m.higher_is_better or m.unit == "ms" else " (lower is better)"),
            fmt(value, m.unit),
            f"{summary.get(m.over, 0)} {COUNTS[m.over].unit}",
            limit,
            style=style,
        )
        group = m.group
    return table


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;
 margin:0 auto;max-width:1120px;padding:24px 28px;background:#fbfbfd}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 10px;border-bottom:1px solid #dde;
 padding-bottom:4px}h3{font-size:16px;margin:0 0 6px}h4{font-size:13px;text-transform:uppercase;
 letter-spacing:.04em;color:#667;margin:10px 0 6px}
.meta{color:#556;margin:0}.ok{color:#1f7a45}.bad{color:#b3261e}
.verdict{padding:8px 12px;border-radius:6px;margin:12px 0;display:inline-block}
.verdict.ok{background:#e6f4ea}.verdict.bad{background:#fce8e6}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:14px}
.card{background:#fff;border:1px solid #e1e3ea;border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}
.card span{color:#667;font-size:13px}
svg text{font:13px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
article{background:#fff;border:1px solid #e1e3ea;border-radius:8px;padding:14px 16px;margin:14px 0}
.tag{display:inline-block;background:#fce8e6;color:#8c1d18;border-radius:10px;padding:1px 9px;
 font-size:12px;margin:0 4px 4px 0}
.q{margin:4px 0}.turn{color:#778}.ref{color:#556;font-size:14px}
.answer p{margin:3px 0}mark{background:#ffd7d2;padding:1px 2px;border-radius:3px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:14px;border-top:1px dashed #dde;padding:8px 0}
.why{display:block;color:#8c1d18;font-size:12.5px}
blockquote{margin:0 0 8px;padding:6px 10px;border-left:3px solid #c9cfe0;background:#f5f6fa;
 font-size:13.5px;white-space:pre-wrap}
blockquote b{display:block;font-size:12.5px;color:#445;white-space:normal}
table{border-collapse:collapse;width:100%;font-size:13.5px;background:#fff}
th,td{border-bottom:1px solid #e6e8ef;padding:4px 8px;text-align:left}th{background:#f1f2f7}
td.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:13px}
.ans{white-space:pre-wrap;font-size:13px;max-height:14em;overflow:auto}
"""


def chart_svg(
    summary: dict[str, Any], minimums: dict[str, float], maximums: dict[str, float] | None = None
) -> str:
    """Horizontal bars (0 to 1) for every share metric, grouped, with any minimum (or maximum,
    where lower is better) as a red tick."""
    limits = {**minimums, **(maximums or {})}
    label_w, bar_w, row_h = 190, 470, 26
    rows: list[str] = []
    y = 0
    group = ""
    for m in METRICS.values():
        if m.unit:
            continue
        if m.group != group:
            group = m.group
            y += 8 if y else 0
            rows.append(f'<text x="0" y="{y + 16}" font-weight="600">{escape(group)}</text>')
            y += row_h
        value = summary.get(m.name)
        colour = _GROUP_COLOURS.get(m.group, "#556")
        x0 = label_w + 10
        label = m.label + ("" if m.higher_is_better else " ↓")
        row = [
            f"<title>{escape(m.label)}: {escape(m.description)}</title>",
            f'<text x="{label_w}" y="{y + 17}" text-anchor="end">{escape(label)}</text>',
            f'<rect x="{x0}" y="{y + 4}" width="{bar_w}" height="{row_h - 8}" '
            'fill="#eceef4" rx="3"/>',
        ]
        if isinstance(value, int | float) and not is_nan(value):
            width = max(0.0, min(1.0, float(value))) * bar_w
            row.append(
                f'<rect x="{x0}" y="{y + 4}" width="{width:.1f}" height="{row_h - 8}" '
                f'fill="{colour}" rx="3"/>'
            )
        shown = fmt(value)
        over = f"n={summary.get(m.over, 0)}"
        row.append(
            f'<text x="{x0 + bar_w + 10}" y="{y + 17}">{shown} '
            f'<tspan fill="#889">{escape(over)}</tspan></text>'
        )
        if m.name in limits:
            mx = x0 + max(0.0, min(1.0, limits[m.name])) * bar_w
            row.append(
                f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y + 1}" y2="{y + row_h - 1}" '
                'stroke="#b3261e" stroke-width="2.5"/>'
            )
        rows.append(f'<g class="metric" data-metric="{m.name}">' + "".join(row) + "</g>")
        y += row_h
    width = label_w + 10 + bar_w + 140
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 4}" '
        f'viewBox="0 0 {width} {y + 4}" role="img" aria-label="Eval metrics">'
        + "".join(rows)
        + "</svg>"
    )


def _sentence_html(s: Any) -> str:
    text = escape(s.text)
    if s.supported:
        return f"<p>{text}</p>"
    return (
        f'<p><mark title="{escape(s.reason)}">{text}</mark>'
        f'<span class="why">{escape(s.reason)} (score {s.score:.2f})</span></p>'
    )


def _passage_html(c: dict[str, Any]) -> str:
    where = " › ".join(p for p in (c.get("title", ""), c.get("section", "")) if p)
    return (
        f"<blockquote><b>[{c['n']}] {escape(where)} "
        f"<code>{escape(str(c.get('source', '')))}:{c.get('start')}-{c.get('end')}</code></b>"
        f"{escape(c.get('text', ''))}</blockquote>"
    )


def case_html(r: CaseResult) -> str:
    """One failing case: what went wrong, the answer with unsupported sentences marked, and each
    unsupported sentence next to the passages it cites."""
    parts = [
        f'<article id="case-{escape(r.id)}"><h3>{escape(r.id)}</h3>',
        "".join(f'<span class="tag">{escape(f)}</span>' for f in r.failures),
    ]
    for turn in r.turns[:-1]:
        parts.append(f'<p class="q turn">earlier turn: {escape(turn)}</p>')
    expect = "should answer" if r.answerable else "should decline"
    parts.append(
        f'<p class="q"><b>Q:</b> {escape(r.question)} <span class="ref">({expect})</span></p>'
    )
    if r.reference:
        parts.append(f'<p class="ref"><b>Reference:</b> {escape(r.reference)}</p>')
    if r.missed_facts:
        missed = "; ".join(" / ".join(f"“{escape(a)}”" for a in fact) for fact in r.missed_facts)
        parts.append(f'<p class="bad"><b>Missed facts:</b> {missed}</p>')
    if r.expected_sources and r.metrics.reciprocal_rank == 0.0:
        got = ", ".join(dict.fromkeys(r.retrieved)) or "nothing"
        parts.append(
            f'<p class="bad"><b>Expected sources:</b> {escape(", ".join(r.expected_sources))}'
            f" — retrieved: {escape(got)}</p>"
        )
    elif r.retrieved:
        got = ", ".join(dict.fromkeys(r.retrieved))
        parts.append(f'<p class="ref"><b>Retrieved documents:</b> {escape(got)}</p>')
    parts.append('<div class="answer"><h4>Answer' + (" (declined)" if r.declined else "") + "</h4>")
    if r.sentences:
        parts.append("".join(_sentence_html(s) for s in r.sentences))
    else:
        parts.append(f"<p>{escape(r.answer) or '<i>(empty)</i>'}</p>")
    parts.append("</div>")
    by_n = {c["n"]: c for c in r.citations}
    unsupported = [s for s in r.sentences if not s.supported]
    if unsupported:
        parts.append("<h4>Unsupported sentences and what they cite</h4>")
    for s in unsupported:
        cited = "".join(_passage_html(by_n[n]) for n in s.citations if n in by_n)
        parts.append(
            f'<div class="pair"><div><mark>{escape(s.text)}</mark>'
            f'<span class="why">{escape(s.reason)} (score {s.score:.2f})</span></div>'
            f"<div>{cited or '<i>cites no passage</i>'}</div></div>"
        )
    parts.append("</article>")
    return "".join(parts)


def _off_point(m: Any) -> str:
    if m.off_point_passages is None:
        return ""
    return f"{m.off_point_passages}/{m.cited_passages}"


def worst_cases_html(results: Sequence[CaseResult], limit: int = WORST) -> str:
    """The least focused answers: most off-point passages (as a share, then a count), the
    longest, and every one that quotes a fragment; each with its answer and what is wrong."""
    given = [r for r in results if r.metrics.judged]
    if not given:
        return "<p>No answers to show.</p>"

    def share(r: CaseResult) -> float:
        v = r.metrics.off_point_share
        return -1.0 if is_nan(v) else v

    off = sorted(
        (r for r in given if r.metrics.off_point_passages),
        key=lambda r: (share(r), r.metrics.off_point_passages or 0, r.metrics.words),
        reverse=True,
    )[:limit]
    longest = sorted(given, key=lambda r: r.metrics.words, reverse=True)[:limit]
    broken = [r for r in given if r.fragments][:limit]

    def rows(chosen: Sequence[CaseResult]) -> str:
        out = []
        for r in chosen:
            m = r.metrics
            frags = "".join(f"<li><mark>{escape(f)}</mark></li>" for f in r.fragments)
            out.append(
                f"<tr><td>{escape(r.id)}</td><td>{escape(r.question)}</td>"
                f'<td class="n">{m.words}</td><td class="n">{m.cited_passages}</td>'
                f'<td class="n">{_off_point(m)}</td>'
                f'<td><div class="ans">{escape(r.answer)}</div>'
                + (f"<ul>{frags}</ul>" if frags else "")
                + "</td></tr>"
            )
        head = (
            "<tr><th>case</th><th>question</th><th>words</th><th>passages</th>"
            "<th>off-point</th><th>answer</th></tr>"
        )
        return f"<table>{head}{''.join(out)}</table>" if out else "<p>None.</p>"

    return (
        f"<h3>Most off-point passages ({len(off)})</h3>{rows(off)}"
        f"<h3>Longest answers ({len(longest)})</h3>{rows(longest)}"
        f"<h3>Answers quoting a fragment ({len(broken)})</h3>{rows(broken)}"
    )


def length_histogram_svg(results: Sequence[CaseResult], bin_words: int = 20) -> str:
    """How long the answers are: cases per 20-word bin (declined answers left out)."""
    words = [r.metrics.words for r in results if r.metrics.judged]
    if not words:
        return ""
    bins = [0] * (max(words) // bin_words + 1)
    for w in words:
        bins[w // bin_words] += 1
    bar_w, height, top = 34, 120, max(bins)
    parts = []
    for i, count in enumerate(bins):
        h = count / top * height
        x = i * (bar_w + 4)
        parts.append(
            f"<g><title>{i * bin_words}-{(i + 1) * bin_words - 1} words: {count}</title>"
            f'<rect x="{x}" y="{height - h + 16:.1f}" width="{bar_w}" height="{h:.1f}" '
            f'fill="{_GROUP_COLOURS["focus"]}" rx="2"/>'
            f'<text x="{x + bar_w / 2}" y="{height - h + 12:.1f}" text-anchor="middle">'
            f"{count}</text>"
            f'<text x="{x + bar_w / 2}" y="{height + 32}" text-anchor="middle">'
            f"{i * bin_words}</text></g>"
        )
    width = len(bins) * (bar_w + 4)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" '
        f'viewBox="0 0 {width} {height + 40}" role="img" aria-label="Answer lengths">'
        + "".join(parts)
        + "</svg>"
    )


def _cases_table(results: Sequence[CaseResult]) -> str:
    head = (
        "<tr><th>case</th><th>result</th><th>declined</th><th>facts</th><th>RR</th>"
        "<th>supported sentences</th><th>words</th><th>off-point</th><th>latency</th></tr>"
    )
    rows = []
    for r in results:
        m = r.metrics
        link = f'<a href="#case-{escape(r.id)}">{escape(r.id)}</a>' if r.failures else escape(r.id)
        result = (
            f'<span class="bad">{escape("; ".join(r.failures))}</span>'
            if r.failures
            else '<span class="ok">pass</span>'
        )
        facts = f"{m.facts_met}/{m.facts_total}" if m.facts_total else ""
        support = f"{m.supported_sentences}/{m.sentences}" if m.judged else ""
        rr = "" if is_nan(m.reciprocal_rank) else fmt(m.reciprocal_rank)
        words = str(m.words) if m.judged else ""
        rows.append(
            f"<tr><td>{link}</td><td>{result}</td><td>{'yes' if r.declined else ''}</td>"
            f'<td class="n">{facts}</td><td class="n">{rr}</td>'
            f'<td class="n">{support}</td><td class="n">{words}</td>'
            f'<td class="n">{_off_point(m)}</td><td class="n">{r.latency_ms:,.0f} ms</td></tr>'
        )
    return f"<table>{head}{''.join(rows)}</table>"


def render_html(
    summary: dict[str, Any],
    results: Sequence[CaseResult],
    minimums: dict[str, float],
    unmet: Sequence[str],
    title: str,
    maximums: dict[str, float] | None = None,
) -> str:
    """The whole report page as one string."""
    failing = [r for r in results if r.failures]
    verdict = ""
    if minimums or maximums:
        ok = not unmet
        what = "Limits" if maximums else "Minimums"
        text = f"All {what.lower()} met." if ok else f"{what} not met: " + "; ".join(unmet)
        verdict = f'<p class="verdict {"ok" if ok else "bad"}">{escape(text)}</p>'
    cards = "".join(
        f'<div class="card"><b>{fmt(summary.get(m.name), m.unit)}</b>'
        f"<span>{escape(m.label)}</span></div>"
        for m in METRICS.values()
        if m.unit
    ) + "".join(
        f'<div class="card"><b>{summary.get(key, 0)}</b><span>{escape(label)}</span></div>'
        for key, label in (
            ("n_cases", "cases"),
            ("n_answerable", "answerable"),
            ("n_unanswerable", "should decline"),
            ("n_judged", "answers judged"),
            ("n_sentences", "sentences judged"),
            ("n_failing", "failing cases"),
        )
    )
    meta = " · ".join(
        str(summary.get(key, "")) for key in ("dataset", "generator", "created") if summary.get(key)
    )
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(meta)}</p>',
        verdict,
        "<h2>Metrics</h2>",
        chart_svg(summary, minimums, maximums),
        '<p class="meta">Bars run from 0 to 1; n is the number of cases (or sentences, citations) '
        "a metric is computed over, and n/a means there were none. ↓ marks a metric where lower "
        "is better. A red tick marks a --min (or --max) threshold.</p>",
        f'<div class="cards">{cards}</div>',
        "<h2>Focus: precision beside recall</h2>",
        '<p class="meta">Answer lengths in words (cases per 20-word bin):</p>',
        length_histogram_svg(results),
        worst_cases_html(results),
        f"<h2>Failing cases ({len(failing)} of {len(results)})</h2>",
        "".join(case_html(r) for r in failing) or "<p>None.</p>",
        "<h2>All cases</h2>",
        _cases_table(results),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
