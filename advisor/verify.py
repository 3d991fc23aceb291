"""Grounding judge: does each answer sentence say only what the passages it cites say?

`GroundingJudge` is offline and fast (no generative model). Explicit rules catch what overlap
scores cannot see (citations, numbers and units, names, negation, added clauses); a semantic
score, MiniLM cosine combined with stemmed word coverage, then lets faithful paraphrases pass.
`LLMJudge` asks a chat model instead and falls back to the offline judge per sentence.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pysbd
import Stemmer
from pydantic import BaseModel

if TYPE_CHECKING:
    from .embed import Embedder

_STEM = Stemmer.Stemmer("english")
_SEGMENTER = pysbd.Segmenter(language="en", clean=False)
_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\[\d+(?:\s*,\s*\d+)*\]\s*)+")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_TOKEN = re.compile(
    r"(?P<num>[$€£]?(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?P<k>[kK]\b)?(?P<pct>\s?%)?)"
    r"|(?P<word>[A-Za-z][A-Za-z0-9]*(?:['’][A-Za-z]+)?)|(?P<punct>[^\sA-Za-z0-9])")
_NO_CLAIM = re.compile(  # declines, politeness, headings: nothing to cite
    r"^(?:#|i'?m sorry|sorry|unfortunately|i (?:can(?:no|'|’)t|cannot|could(?:n'|n’)t|do(?:n'|n’)t)"
    r"|(?:they|the (?:documents|sources))(?: only)? cover\b|hope this helps|good luck"
    r"|let me know|feel free|thank)", re.I)
_CLAUSES = re.compile(  # ", replacing ...": a participle adds a clause too
    r",\s*and\b|;|\s+but\s+|,\s*which\b|\s+because\s+|\s+while\s+|,\s*so\b|,\s+(?=[a-z]+ing\b)")
_PIECES = re.compile(r"[;:,]|\b(?:but|while|whereas|although)\b|(?=\b(?:rather than|instead of)\b)")
_STOP = set(
    "a an the and or nor of to in on at by for from with within into onto about as is are was were"  # noqa: SIM905, E501
    " be been being it its this that these those there their they them you your we our us i me my"
    " he she his her who whom whose which what when where how why than then so such also like"
    " include includes including can could may might must should would will shall do does did has"
    " have had not no never any all some each every other more most many much very just only well"
    " up out over after before between both either neither per via etc eg ie if while but because"
    " need needs".split())
_NEGATIONS = {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "cannot",
              "without"}
_SCOPE_ENDS = {",", ";", ":", ".", "?", "!", "and", "but", "or", "which", "while", "because", "so"}
_NEG_PHRASES = re.compile(r"n['’]t\b|\bno longer\b|\brather than\b|\binstead of\b", re.I)
_BOUNDS = [  # "no more than 10", "10 or fewer" and "up to 10" all say "at most 10"
    (re.compile(r"\b(?:(?:no|not) (?:more|longer|later) than|or (?:fewer|less)|up to)\b", re.I),
     "at most"),
    (re.compile(r"\b(?:(?:no|not) (?:less|fewer|earlier) than|or more)\b", re.I), "at least")]
_STRONG_ANTONYMS = [  # stems; one-sided anywhere in the cited passage
    ("increas", "decreas"), ("rise", "fall"), ("grow", "shrink"), ("grow", "declin"),
    ("fastest", "slowest"), ("requir", "option"), ("mandatori", "voluntari"),
    ("mandatori", "option"), ("essenti", "unnecessari"), ("compulsori", "voluntari"),
    ("requir", "voluntari")]
_ANTONYMS = [  # stems; common words, so only against the best-matching passage sentence
    ("high", "low"), ("higher", "lower"), ("more", "less"), ("more", "fewer"), ("most", "least"),
    ("fast", "slow"), ("derail", "help"), ("open", "close"), ("online", "person"),
    ("easi", "difficult"), ("easi", "hard"), ("cheap", "expens"), ("basic", "advanc"),
    ("foundat", "advanc"), ("entri", "advanc"), ("beginn", "advanc"), ("beginn", "expert"),
    ("short", "long"), ("shorter", "longer"), ("shorter", "long"), ("largest", "smallest"),
    ("larger", "smaller"), ("biggest", "smallest"), ("add", "remov"), ("earlier", "later"),
    ("increas", "reduc"), *_STRONG_ANTONYMS]
_ITEM = r"(?!which |who |that )[A-Za-z][\w'’-]*(?: [A-Za-z][\w'’-]*){0,3}"
_ENUMERATION = re.compile(rf"{_ITEM}(?:, {_ITEM})+,? (?:and|or) {_ITEM}")
_SYNONYMS = [  # paraphrases that count as the same content word
    "annual annually year yearly", "earn make paid pay salary salaries income compensation",
    "job role position occupation", "require requirement", "company business firm organization",
    "certification certify certificate credential cert", "exam test examination", "last take",
    "buy bought acquire acquired purchase", "release released publish published launch",
    "start begin", "help assist aid", "skill ability", "key critical essential important vital",
    "use leverage utilize", "oversee manage run lead", "course training education class",
    "small smaller", "big large", "renew maintain", "familiar familiarize", "goal objective aim",
    "cost price fee"]
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"  # noqa: SIM905, E501
    " sixteen seventeen eighteen nineteen twenty".split())} | {
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "dozen": 12}
_MULTIPLIERS = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_DURATIONS = {"minute": ("short", 1), "min": ("short", 1), "hour": ("short", 60),
              "hr": ("short", 60), "day": ("short", 1440), "week": ("short", 10080),
              "month": ("long", 1), "year": ("long", 12)}
_RATES = {"annually": "year", "yearly": "year", "annum": "year", "monthly": "month",
          "weekly": "week", "daily": "day", "hourly": "hour"}
_UNITS = {"percent", "usd", "dollar", "dollars", *_DURATIONS, *_RATES,
          *(d + "s" for d in _DURATIONS)}  # the number check judges these, not coverage
_RANGE = {"-", "–", "—", "to", "and", "or"}
_ALIASES = {"us": ("usd", "u.s.", "united states"), "usd": ("us$", "dollar", "$"),
            "ai": ("artificial",)}
_YES_NO = {"true": True, "yes": True, "supported": True, "false": False, "no": False,
           "unsupported": False, "not supported": False}


def _stem(word: str) -> str:
    return _STEM.stemWord(word.lower())


_SYN = {_stem(w): g.split()[0] for g in _SYNONYMS for w in g.split()}
_ANTI: dict[str, set[str]] = {}
for _a, _b in _ANTONYMS:
    _ANTI.setdefault(_a, set()).add(_b)
    _ANTI.setdefault(_b, set()).add(_a)
_STRONG = {w for pair in _STRONG_ANTONYMS for w in pair}


class SentenceVerdict(BaseModel):
    text: str  # the sentence, citation markers included
    citations: list[int]
    supported: bool
    score: float  # 0..1 support strength
    reason: str


class Judgement(BaseModel):
    sentences: list[SentenceVerdict]

    @property
    def grounded(self) -> bool:
        """True when there is something to judge and every sentence of it is supported."""
        return bool(self.sentences) and all(s.supported for s in self.sentences)


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


def strip_markers(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text)).strip()


def split_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences with their [n] numbers. Each line (list item, lead-in) is split on its own so
    list items stay apart; a marker that pysbd leaves at the start of the next piece
    ("... 2025. [1] Next") belongs to the sentence before it."""
    out: list[str] = []
    for line in answer.splitlines():
        line = _BULLET.sub("", line).strip()
        for piece in _SEGMENTER.segment(line) if line else []:
            piece = piece.strip()
            if (lead := _LEADING_MARKERS.match(piece)) and out:
                out[-1] += " " + lead.group().strip()
                piece = piece[lead.end():].strip()
            if piece:
                out.append(piece)
    return [(t, sorted({int(n) for m in _MARKER.findall(t) for n in m.split(",")})) for t in out]


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


def check_numbers(claim: str, passage: str) -> str | None:
    """Numbers are where fluent answers go wrong and embeddings cannot tell: every number must be
    in the passage, with the same unit (2 hours = 120 minutes) and the same period."""
    found = quantities(passage, strict=False)
    for q in quantities(strip_markers(claim)):
        same = [p for p in found if abs(p.value - q.value) < 1e-6 * max(1.0, q.value)]
        if q.dim:
            conv = [p for p in found
                    if p.dim == q.dim and abs(p.scaled - q.scaled) < 1e-6 * max(1.0, q.scaled)]
            if not conv and same and not any(p.dim is None and q.dim != "%" for p in same):
                return f"unit differs: {_show(q)}, cited passage has {_show(same[0])}"
            same = conv or same
        if not same:
            return f"number {q.raw.lstrip('$€£')} not in cited passage"
        rates = {p.rate for p in same}  # a pay figure with no period is taken to be yearly
        if q.rate and q.rate not in rates and (rates - {None} or q.rate != "year"):
            said = next((f"per {r}" for r in rates if r), "no period")
            return f"period differs: {q.raw} per {q.rate}, cited passage says {said}"
    return None


def _initials_in(acronym: str, words: list[str]) -> bool:
    """`words` hold a run whose initials spell `acronym` ("Risk Management Framework" -> RMF)."""
    parts = [p for w in words for p in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", w)]
    letters = [(p[0].lower(), p.lower() in {"of", "and", "the", "for"}) for p in parts]
    target = acronym.lower()
    for start in range(len(letters)):
        i, k = start, 0
        while i < len(letters) and k < len(target):
            if letters[i][0] == target[k] and (k or not letters[i][1]):
                k += 1
            elif not (k and letters[i][1]):  # small words may sit inside, not lead
                break
            i += 1
        if k == len(target):
            return True
    return False


def _names(text: str) -> list[tuple[bool, str, str]]:
    """Names (acronyms, capitalised words not opening the sentence, words with digits), each with
    whether it opens the sentence and the initials of the capitalised run it is part of."""
    toks = _tokens(text)
    words = [(k, t.text) for k, t in enumerate(toks) if t.kind == "word"]
    runs: list[list[str]] = []  # capitalised runs: "Certified ScrumMaster" may be "CSM" elsewhere
    prev = -2
    for k, w in words:
        if w[0].isupper():
            runs[-1].append(w) if runs and k == prev + 1 else runs.append([w])
            prev = k
    initials = {w: "".join(re.findall("[A-Z]", "".join(r))).lower() for r in runs for w in r}
    out = []
    for i, (k, w) in enumerate(words):
        upper, start = sum(c.isupper() for c in w), i == 0 or toks[k - 1].text == ":"
        if (upper >= 2 or any(c.isdigit() for c in w) or (upper and not start)) and not (
                w.lower() in _STOP or w.lower() in _NUMBER_WORDS):
            out.append((start, w, initials.get(w, "")))
    return out


def _name_in(name: str, initials: str, text: str) -> bool:
    """`name` is in `text`: as a word, a plural, an acronym spelt out, or spelt out as an acronym
    there ("Certified ScrumMaster" for "CSM")."""
    words = _words(text)
    lower = {w.lower() for w in words}
    base = name[:-1] if name.endswith("s") and name[:-1].isupper() else name  # "PDUs"
    return bool({name.lower(), base.lower()} & lower or _stem(name) in {_stem(w) for w in words}
                or (base.isupper() and _initials_in(base, words))
                or (len(initials) > 1 and initials in lower)
                or any(a in text.lower() for a in _ALIASES.get(name.lower(), ())))


def check_entities(claim: str, passage: str) -> str | None:
    """A named tool, certification or body the passage never mentions is an invented fact,
    however similar the sentence. Acronyms and their expansions count as the same name."""
    missing = [(start, w) for start, w, i in _names(claim) if not _name_in(w, i, passage)]
    if not missing:
        return None
    return f"'{next((w for start, w in missing if not start), missing[0][1])}' not in cited passage"


def check_swapped_name(clause: str, passage: str) -> str | None:
    """"MAP is the cross-cutting function" where the source says "GOVERN is ...": every name is
    somewhere in the passage, but the passage piece the claim piece comes from (the one piece
    sharing most words, at least two) has another name of the same kind in its place."""
    split = re.compile(_PIECES.pattern + r"|\s(?:and|or)\s")  # list members apart too
    pieces = [p for s in passage_sentences(passage) for p in split.split(s)]
    for mine in split.split(clause):
        words = set(_content(mine))
        shared = sorted(((len(words & set(_content(p))), p) for p in pieces), reverse=True)
        if not shared or shared[0][0] < 2 or (len(shared) > 1 and shared[1][0] == shared[0][0]):
            continue  # no single piece it clearly comes from
        source = shared[0][1]
        absent = [w for _, w, i in _names(mine) if not _name_in(w, i, source)]
        instead = [w for _, w, i in _names(source) if not _name_in(w, i, clause)]
        for a, b in ((a, b) for a in absent for b in instead if a.isupper() == b.isupper()):
            return f"'{a}' where cited passage says '{b}'"
    return None


def clauses(text: str) -> list[str]:
    """Clauses a sentence may have glued together; each must be backed on its own."""
    return [p.strip(" ,.") for p in _CLAUSES.split(text) if _content(p)]


def _bounds(text: str) -> str:
    for pattern, plain in _BOUNDS:
        text = pattern.sub(plain, text)
    return text


def _negated(text: str) -> tuple[bool, dict[str, str], dict[str, str]]:
    """Whether `text` has a negation cue, and its content words (stem -> word) inside and outside
    a cue's scope (up to punctuation or a conjunction; names are left out)."""
    neg: dict[str, str] = {}
    pos: dict[str, str] = {}
    scope, has = False, False
    prev = "."
    for t in _tokens(_NEG_PHRASES.sub(" not ", _bounds(text))):
        w, name = t.text.lower(), t.text[:1].isupper() and prev not in ".?!:"
        prev = t.text
        if w in _NEGATIONS:
            scope, has = True, True
        elif w in _SCOPE_ENDS:
            scope = False
        elif t.kind == "word" and w not in _STOP and not name:  # a negation is not about names
            (neg if scope else pos)[_SYN.get(_stem(w), _stem(w))] = w
    return has, neg, pos


def check_negation(clause: str, passage: str) -> str | None:
    """Overlap cannot tell "never affect" from "can derail". No word may be asserted by the claim
    but only ever negated by the passage (or the other way round), and each piece of the claim
    must find a passage piece of its polarity among those sharing most words with it."""
    c_has, c_neg, c_pos = _negated(clause)
    _, p_neg, p_pos = _negated(passage)
    flipped = [w for s, w in c_pos.items() if s in p_neg and s not in p_pos and s not in c_neg]
    flipped += [w for s, w in c_neg.items() if s in p_pos and s not in p_neg]
    if flipped:
        return f"negation differs on '{flipped[0]}'"
    texts = [p for s in passage_sentences(passage) for p in _PIECES.split(s)]
    pieces = [(set(_content(t)), _negated(t)[0]) for t in texts]
    for mine in _PIECES.split(clause):
        words, has = set(_content(mine)), _negated(mine)[0]
        top = max((len(words & w) for w, _ in pieces), default=0)
        if top and all(neg != has for w, neg in pieces if len(words & w) == top):
            return "negation differs: cited passage " + ("does not negate" if has else "negates")
    return None


def check_reversal(clause: str, passage_sentence: str, passage: str) -> str | None:
    """Antonyms ("fall" for "rise", "at least" for "at most") and prefixed opposites ("proctored"
    for "unproctored") keep every other word, so coverage and cosine stay high. Unambiguous pairs
    (mandatory/voluntary) are looked for in the whole passage, common ones in the best sentence."""
    mine, theirs, whole = ({_stem(w): w.lower() for w in _words(_bounds(x))}
                           for x in (clause, passage_sentence, passage))
    for s, w in mine.items():
        opposites = _ANTI.get(s, set()) | {"un" + s, "non" + s}
        opposites |= {s[len(p):] for p in ("un", "non") if s.startswith(p) and len(s) > len(p) + 3}
        other = next((theirs[o] for o in opposites if o in theirs and s not in theirs), None)
        other = other or next((whole[o] for o in opposites & _STRONG
                               if o in whole and s not in whole), None)
        if other:
            return f"reversed: '{w}' where cited passage says '{other}'"
    return None


def check_list_items(claim: str, passage: str) -> str | None:
    """A swapped member of an enumeration ("tech, finance and manufacturing" for "... and
    retail") leaves coverage and cosine high, yet each member is a fact of its own."""
    for m in _ENUMERATION.finditer(claim):
        items = [i.split() for i in re.split(r",\s*(?:and |or )?|\s(?:and|or)\s", m.group())]
        first, last = items[0], items[-1]
        cut = max((k + 1 for k, w in enumerate(first) if w.lower() in _STOP), default=0)
        items[0] = first[cut:]  # "fields like Computer Science": the member is the tail
        end = next((k for k, w in enumerate(last) if w.lower() in _STOP), len(last))
        items[-1] = last[:end]  # "manufacturing are among the top": the member is the head
        for member in map(" ".join, items):
            if _content(member) and coverage(member, passage)[0] == 0:
                return f"list item '{member}' not in cited passage"
    return None


def coverage(claim: str, passage: str) -> tuple[float, list[str]]:
    """Share of the claim's content stems present in the passage, and the absent ones.
    Compounds ("boot camps" ~ "bootcamps") and acronyms of passage phrases count as present."""
    words, ptoks = _content(passage), _words(passage)
    have = set(words) | {a + b for a, b in zip(words, words[1:], strict=False)}
    acronyms = {_stem(w): w.rstrip("s") for w in _words(claim)
                if len(w) > 1 and w.rstrip("s").isupper()}
    mine = _content(claim)
    missing = [w for w in mine if w not in have
               and not (w in acronyms and _initials_in(acronyms[w], ptoks))]
    return (1 - len(missing) / len(mine) if mine else 1.0), missing


@lru_cache(maxsize=2048)
def passage_sentences(passage: str) -> tuple[str, ...]:
    return tuple(s.strip() for line in passage.splitlines()
                 for s in _SEGMENTER.segment(line) if s.strip())


def citation_verdict(text: str, cites: list[int], n_contexts: int) -> SentenceVerdict | None:
    """Rules on the markers alone: a claim needs a citation and a citation needs a source. A pure
    lead-in ("Popular options include:", no numbers), a question or a decline needs none."""
    claim = strip_markers(text)
    if bad := [n for n in cites if not 1 <= n <= n_contexts]:
        reason = f"cites [{bad[0]}] but only {n_contexts} source{'s' * (n_contexts != 1)}"
        return SentenceVerdict(text=text, citations=cites, supported=False, score=0.0,
                               reason=reason)
    if not cites:
        ok = (claim.endswith(":") and not quantities(claim)) or claim.endswith("?") or bool(
            _NO_CLAIM.match(claim))
        return SentenceVerdict(text=text, citations=[], supported=ok, score=float(ok),
                               reason="no citation needed" if ok else "no citation")
    return None


class GroundingJudge:
    """Offline judge: explicit rules first, then cosine (MiniLM) combined with word coverage."""

    def __init__(self, embedder: Embedder | None = None, threshold: float = 0.5,
                 clause_cosine: float = 0.55, clause_coverage: float = 0.5) -> None:
        if embedder is None:
            from .config import Settings
            from .embed import Embedder as _Embedder

            embedder = _Embedder(Settings())
        self.embedder, self.threshold = embedder, threshold
        self.clause_cosine, self.clause_coverage = clause_cosine, clause_coverage
        self._vectors: dict[str, np.ndarray] = {}

    def _embed(self, claims: list[str], passages: list[str]) -> None:
        """One batch for everything not seen before; passage sentences recur across calls."""
        texts = {*claims, *(c for x in claims for c in clauses(x)),
                 *(s for p in passages for s in passage_sentences(p))}
        todo = sorted(t for t in texts if t not in self._vectors)
        if len(self._vectors) > 20000:
            self._vectors.clear()
        if todo:
            self._vectors.update(zip(todo, self.embedder.embed(todo), strict=True))

    def _best(self, text: str, sents: list[str]) -> tuple[float, str]:
        if not sents:
            return 0.0, ""
        sims = np.stack([self._vectors[s] for s in sents]) @ self._vectors[text]
        return float(sims.max()), sents[int(sims.argmax())]

    def judge_sentence(self, sentence: str, passages: list[str]) -> SentenceVerdict:
        """Judge one sentence against the passages it cites (citation rules are `judge`'s)."""
        self._embed([strip_markers(sentence)], passages)
        return self._content_verdict(sentence, [], passages)

    def _content_verdict(self, text: str, cites: list[int], passages: list[str]) -> SentenceVerdict:
        claim, joined = strip_markers(text), "\n".join(passages)
        sents = [s for p in passages for s in passage_sentences(p)]
        cos, cov = self._best(claim, sents)[0], coverage(claim, joined)[0]
        score = round(float(np.clip(0.5 * cos + 0.5 * cov, 0, 1)), 3)

        def verdict(ok: bool, reason: str) -> SentenceVerdict:
            shown = score if ok else min(score, self.threshold - 0.01)
            return SentenceVerdict(text=text, citations=cites, supported=ok, score=shown,
                                   reason=reason)

        if reason := (check_numbers(claim, joined) or check_entities(claim, joined)
                      or check_list_items(claim, joined)):
            return verdict(False, reason)
        for clause in clauses(claim) or [claim]:
            ccos, best = self._best(clause if clause in self._vectors else claim, sents)
            ccov, missing = coverage(clause, joined)
            if len(missing) >= 2 and ccov < self.clause_coverage and ccos < self.clause_cosine:
                return verdict(False, f"unsupported clause: '{clause}'")
            if reason := check_negation(clause, joined) or check_reversal(clause, best, joined):
                return verdict(False, reason)
            if reason := check_swapped_name(clause, joined):
                return verdict(False, reason)
        if score >= self.threshold:
            return verdict(True, "supported")
        return verdict(False, f"weak support ({score:.2f})")

    def judge(self, answer: str, contexts: list[str]) -> Judgement:
        """Judge every sentence of `answer`; [n] refers to contexts[n-1]."""
        units = split_sentences(answer)
        verdicts = [citation_verdict(t, c, len(contexts)) for t, c in units]
        todo = [(i, [contexts[n - 1] for n in units[i][1]]) for i, v in enumerate(verdicts)
                if v is None]
        self._embed([strip_markers(units[i][0]) for i, _ in todo],
                    [p for _, ps in todo for p in ps])
        for i, passages in todo:
            verdicts[i] = self._content_verdict(units[i][0], units[i][1], passages)
        return Judgement(sentences=[v for v in verdicts if v is not None])


_LLM_PROMPT = """You check a career-advice answer against its sources. For each numbered \
sentence, decide whether the passages it cites state everything it says: every number, unit, \
name, negation and clause. A paraphrase is fine; anything added, changed or reversed is not.
Reply with JSON only: [{"i": <sentence number>, "supported": true|false, "reason": "<short>"}]"""


class LLMJudge:
    """Ask a LangChain chat model to verify each cited sentence. Citation rules stay offline, and
    a sentence the model gives no usable verdict on is judged by the offline judge."""

    def __init__(self, chat_model: Any, fallback: GroundingJudge | None = None) -> None:
        self.chat_model, self._fallback = chat_model, fallback

    @property
    def fallback(self) -> GroundingJudge:
        if self._fallback is None:
            self._fallback = GroundingJudge()
        return self._fallback

    def judge(self, answer: str, contexts: list[str]) -> Judgement:
        from langchain_core.messages import HumanMessage, SystemMessage

        units = split_sentences(answer)
        verdicts = [citation_verdict(t, c, len(contexts)) for t, c in units]
        todo = [i for i, v in enumerate(verdicts) if v is None]
        parsed: dict[int, dict[str, Any]] = {}
        note = "unusable LLM output"
        if todo:
            body = "\n\n".join(f"Sentence {i + 1}: {strip_markers(units[i][0])}\n" + "\n".join(
                f"  [{n}] {contexts[n - 1]}" for n in units[i][1]) for i in todo)
            try:
                reply = self.chat_model.invoke([SystemMessage(_LLM_PROMPT), HumanMessage(body)])
                parsed = parse_llm_verdicts(getattr(reply, "content", reply), [i + 1 for i in todo])
            except Exception as exc:  # any model failure means: judge offline
                note = f"LLM failed: {type(exc).__name__}"
        for i in todo:
            text, cites = units[i]
            if (got := parsed.get(i + 1)) is not None:
                ok = got["supported"]
                verdicts[i] = SentenceVerdict(text=text, citations=cites, supported=ok,
                                              score=float(ok), reason=f"llm: {got['reason']}")
            else:
                v = self.fallback.judge_sentence(text, [contexts[n - 1] for n in cites])
                update = {"citations": cites, "reason": f"{v.reason} (offline: {note})"}
                verdicts[i] = v.model_copy(update=update)
        return Judgement(sentences=[v for v in verdicts if v is not None])


def parse_llm_verdicts(content: Any, numbers: list[int]) -> dict[int, dict[str, Any]]:
    """Lenient: the first JSON list or object of dicts anywhere in the reply (code fences, prose
    around it, an object wrapping the list); "yes"/"no" for booleans; list order without numbers."""
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    text, data = str(content), None
    for m in re.finditer(r"[\[{]", text):
        try:
            data = json.JSONDecoder().raw_decode(text, m.start())[0]
        except ValueError:
            continue
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), [data])
        if isinstance(data, list) and any(isinstance(d, dict) for d in data):
            break
        data = None
    out: dict[int, dict[str, Any]] = {}
    for k, item in enumerate(d for d in data or [] if isinstance(d, dict)):
        flag = next((item[k] for k in ("supported", "grounded", "verdict") if k in item), None)
        if isinstance(flag, str):
            flag = _YES_NO.get(flag.strip().lower())
        n_text = str(item.get("i", item.get("index", item.get("sentence", ""))))
        n = int(n_text) if n_text.isdigit() else numbers[k] if k < len(numbers) else None
        if isinstance(flag, bool) and n in numbers:
            reason = str(item.get("reason", "")).strip()[:200]
            reason = reason or ("supported" if flag else "not supported")
            out[n] = {"supported": flag, "reason": reason}
    return out
