"""Reading an answer and its passages: sentences with their [n] markers, tokens, numbers with
their units and periods, clauses, and the content words a claim is about."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from .lexicon import (
    _BOUNDS,
    _BULLET,
    _CLAUSES,
    _DURATIONS,
    _EMPHASIS,
    _LEADING_MARKERS,
    _MARKER,
    _MULTIPLIERS,
    _NUMBER_WORDS,
    _RANGE,
    _RATES,
    _SEGMENTER,
    _STOP,
    _SYN,
    _TOKEN,
    _UNITS,
    _stem,
)


class Token(NamedTuple):
    kind: str  # num | word | punct
    text: str
    value: float = 0.0
    percent: bool = False


class Quantity(NamedTuple):
    raw: str
    value: float  # as written (after thousand/million)
    dim: str | None  # "short" (minutes), "long" (months), "%" or None
    scaled: float  # in the dimension's base unit: 2 hours -> 120
    unit: str  # the unit word as written ("hours"), or ""
    rate: str | None  # "year" for "a year" / "annually"


_INLINE_HEADING = re.compile(r"\s+(?=#{1,6}\s)")


def strip_markers(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text)).strip()


def split_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences with their [n] numbers. Each line (list item, lead-in) is split on its own so
    list items stay apart; a marker that pysbd leaves at the start of the next piece
    ("... 2025. [1] Next") belongs to the sentence before it."""
    return [(t, cites) for t, cites, _ in split_lines(answer)]


def split_lines(answer: str) -> list[tuple[str, list[int], int]]:
    """`split_sentences`, each sentence with the number of the line it is on: the sentences of
    one line are one block, which may carry one marker at its end."""
    out: list[tuple[str, int]] = []
    # a Markdown heading a model wrote inside a line ("... [1] ### 3. Gain ...") starts a new one
    lines = [p for ln in answer.splitlines() for p in _INLINE_HEADING.split(ln)]
    for k, line in enumerate(lines):
        line = _BULLET.sub("", _EMPHASIS.sub("", line).strip().lstrip("#").strip()).strip()
        for piece in _SEGMENTER.segment(line) if line else []:
            piece = piece.strip()
            if (lead := _LEADING_MARKERS.match(piece)) and out:
                out[-1] = (out[-1][0] + " " + lead.group().strip(), out[-1][1])
                piece = piece[lead.end():].strip()
            if piece:
                out.append((piece, k))
    return [(t, sorted({int(n) for m in _MARKER.findall(t) for n in m.split(",")}), k)
            for t, k in out]


def _tokens(text: str) -> list[Token]:
    toks: list[Token] = []
    for m in _TOKEN.finditer(text):
        if m["num"]:
            raw = m["num"].strip("$€£% ").rstrip("kK").replace(",", "")
            value = float(raw) * (1e3 if m["k"] else 1)
            toks.append(Token("num", m["num"], value, bool(m["pct"])))
        elif m["word"]:
            toks.append(Token("word", re.sub(r"['’]s$", "", m["word"])))
        else:
            toks.append(Token("punct", m["punct"]))
    return toks


def _words(text: str) -> list[str]:
    return [t.text for t in _tokens(text) if t.kind == "word"]


def _content(text: str) -> list[str]:
    """Stemmed content words, synonyms folded together: what a claim is about."""
    words = [w.lower() for w in _words(text)]
    return [_SYN.get(s, s) for w, s in zip(words, map(_stem, words), strict=True)
            if len(s) > 1 and not ({w, s} & _STOP or w in _NUMBER_WORDS or w in _UNITS
                                   or w.endswith(("n't", "n’t")))]


def _unit_at(toks: list[Token], j: int) -> tuple[str | None, float, str, str | None]:
    """Dimension, factor, unit word and rate after a number: "35 contact hours", "$1 a year"."""
    while j + 1 < len(toks) and toks[j].text in _RANGE and toks[j + 1].kind == "num":
        j += 2  # "120,000–150,000 annually": the unit after a range applies to both ends
    dim, factor, unit, rate = None, 1.0, "", None
    for k in (j, j + 1, j + 2):
        if k < len(toks) and toks[k].text == "-":
            continue
        if k >= len(toks) or toks[k].kind != "word":
            break
        w, nxt = toks[k].text.lower(), toks[k + 1].text.lower() if k + 1 < len(toks) else ""
        per = w in {"a", "an", "per", "each", "every"} and nxt.rstrip("s") in _DURATIONS
        if w in _RATES or per:
            rate = _RATES.get(w) or nxt.rstrip("s")
            break
        if w.rstrip("s") in _DURATIONS and dim is None:
            (dim, factor), unit = _DURATIONS[w.rstrip("s")], w
            continue
        if dim or w in _STOP or k > j:  # one modifier may stand between: "35 contact hours"
            break
    return dim, factor, unit, rate


def quantities(text: str, strict: bool = True) -> list[Quantity]:
    """Numbers with their units; number words inside names ("Six Sigma") are not numbers.
    `strict` (claims) also skips "one" without a unit; passages keep it, to be lenient."""
    toks, out = _tokens(text), []
    for i, t in enumerate(toks):
        if t.kind == "word" and t.text.lower() in _NUMBER_WORDS:
            if i > 0 and t.text[0].isupper() and toks[i - 1].text not in ".!?:-•*":
                continue  # part of a name: "Lean Six Sigma"
            t = Token("num", t.text, _NUMBER_WORDS[t.text.lower()])
        elif t.kind != "num":
            continue
        value, j = t.value, i + 1
        if j < len(toks) and toks[j].text.lower() in _MULTIPLIERS:
            value, j = value * _MULTIPLIERS[toks[j].text.lower()], j + 1
        if (i >= 2 and toks[i - 1].text in "-–" and toks[i - 2].kind == "num"
                and len(t.text) == 2 and 1900 <= toks[i - 2].value <= 2100):
            value += toks[i - 2].value // 100 * 100  # "2024-34" means 2034
        pct = t.percent or (j < len(toks) and toks[j].text.lower() == "percent")
        dim, factor, unit, rate = ("%", 1.0, "%", None) if pct else _unit_at(toks, j)
        if not (strict and t.text.lower() == "one" and dim is None and rate is None):
            out.append(Quantity(t.text, value, dim, value * factor, unit, rate))
    return out


def _show(q: Quantity) -> str:
    return q.raw if q.raw.endswith("%") else f"{q.raw}%" if q.dim == "%" else f"{q.raw} {q.unit}"


def clauses(text: str) -> list[str]:
    """Clauses a sentence may have glued together; each must be backed on its own."""
    return [p.strip(" ,.") for p in _CLAUSES.split(text) if _content(p)]


def _bounds(text: str) -> str:
    for pattern, plain in _BOUNDS:
        text = pattern.sub(plain, text)
    return text


@lru_cache(maxsize=2048)
def passage_sentences(passage: str) -> tuple[str, ...]:
    return tuple(s.strip() for line in passage.splitlines()
                 for s in _SEGMENTER.segment(line) if s.strip())


