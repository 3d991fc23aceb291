"""The word lists and patterns the grounding rules read: stop words, synonyms, antonyms,
number words, units and durations. Data, not logic; stems are Snowball (PyStemmer) stems."""

from __future__ import annotations

import re

import pysbd
import Stemmer

_STEM = Stemmer.Stemmer("english")
_SEGMENTER = pysbd.Segmenter(language="en", clean=False)
_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\[\d+(?:\s*,\s*\d+)*\]\s*)+")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_EMPHASIS = re.compile(r"\*\*|__")  # Markdown bold: formatting, not words
_TOKEN = re.compile(
    r"(?P<num>[$€£]?(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?P<k>[kK]\b)?(?P<pct>\s?%)?)"
    # a domain name ("Scrum.org", "bls.gov") is one word: it names a body as a whole
    r"|(?P<word>(?:[A-Za-z][A-Za-z0-9-]+\.)+[a-z]{2,6}\b|[A-Za-z][A-Za-z0-9]*(?:['’][A-Za-z]+)?)"
    r"|(?P<punct>[^\sA-Za-z0-9])")
_NO_CLAIM = re.compile(  # declines, politeness, headings: nothing to cite
    r"^(?:#|i'?m sorry|sorry|unfortunately|i (?:can(?:no|'|’)t|cannot|could(?:n'|n’)t|do(?:n'|n’)t)"
    r"|(?:they|the (?:documents|sources))(?: only)? cover\b|hope this helps|good luck"
    r"|let me know|feel free|thank)", re.I)
_CLAUSES = re.compile(  # ", replacing ...": a participle adds a clause too
    r",\s*and\b|;|\s+but\s+|,\s*which\b|\s+because\s+|\s+while\s+|,\s*so\b|,\s+(?=[a-z]+ing\b)"
    r"|,\s*with\s+(?=(?:\w+\s+){0,3}\w+ing\b)")  # ", with finance paying the most": a claim
_PIECES = re.compile(r"[;:,]|\b(?:but|while|whereas|although)\b|(?=\b(?:rather than|instead of)\b)")
_STOP = set(
    "a an the and or nor of to in on at by for from with within into onto about as is are was were"  # noqa: SIM905, E501
    " be been being it its this that these those there their they them you your we our us i me my"
    " he she his her who whom whose which what when where how why than then so such also like"
    " include includes including can could may might must should would will shall do does did has"
    " have had not no never any all some each every other more most many much very just only well"
    " up out over after before between both either neither per via etc eg ie if while but because"
    " need needs since until though although whether upon".split())
_NEGATIONS = {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "cannot",
              "without", "rarely", "seldom"}
_SCOPE_ENDS = {",", ";", ":", ".", "?", "!", "and", "but", "or", "which", "while", "because", "so"}
# "According to O*NET, ...": who says it, not what is said; the claim is the rest
_ATTRIBUTION = re.compile(
    r"^(?:(?i:according to|as per|per)\s+[^,]{1,60},\s*|(?:the\s+)?(?:[A-Z][\w*&.-]*\s+){1,4}"
    r"(?:guide|framework|report|handbook|document|standard)?\s*(?:notes|says|states|explains)"
    r"\s+that\s+)")
_NEG_PHRASES = re.compile(r"n['’]t\b|\bno longer\b|\brather than\b|\binstead of\b", re.I)
_BOUNDS = [  # "no more than 10", "10 or fewer" and "up to 10" all say "at most 10"
    (re.compile(r"\b(?:(?:no|not) (?:more|longer|later) than|or (?:fewer|less)|up to"
                r"|(?:a|the) maximum of|at the most)\b", re.I), "at most"),
    (re.compile(r"\b(?:(?:no|not) (?:less|fewer|earlier) than|or more|(?:a|the) minimum of"
                r"|at the least)\b", re.I), "at least"),
    (re.compile(r"\b(\d[\d,.]*)\+"), r"at least \1")]  # "3+ years"
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
    ("increas", "reduc"), ("after", "befor"), ("after", "prior"), ("rais", "loss"),
    ("rais", "lower"), ("gain", "loss"), ("improv", "loss"), ("improv", "wors"),
    *_STRONG_ANTONYMS]
_ITEM = r"\b(?!(?:and|or|which|who|that) )[A-Za-z][\w'’-]*(?: [A-Za-z][\w'’-]*){0,3}"
_ENUMERATION = re.compile(rf"{_ITEM}(?:, {_ITEM})+,? (?:and|or) {_ITEM}")
_SYNONYMS = [  # paraphrases that count as the same content word
    "annual annually year yearly", "earn make paid pay salary salaries income compensation",
    "job role position occupation", "require requirement", "company business firm organization",
    "certification certify certificate credential cert", "exam test examination", "last take",
    "buy bought acquire acquired purchase", "release released publish published launch",
    "start begin", "help assist aid", "skill ability", "key critical essential important vital",
    "use leverage utilize", "oversee manage run lead", "course training education class",
    "small smaller", "big large", "renew maintain keep", "familiar familiarize",
    "goal objective aim", "cost price fee"]
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
def _stem(word: str) -> str:
    return _STEM.stemWord(word.lower())


_SYN = {_stem(w): g.split()[0] for g in _SYNONYMS for w in g.split()}
_ANTI: dict[str, set[str]] = {}
for _a, _b in _ANTONYMS:
    _ANTI.setdefault(_a, set()).add(_b)
    _ANTI.setdefault(_b, set()).add(_a)
_STRONG = {w for pair in _STRONG_ANTONYMS for w in pair}


