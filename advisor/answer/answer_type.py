"""What kind of value a question asks for, and whether a quoted unit holds one.

A question about a covered topic can ask for a fact the documents do not give ("how many days
of annual leave?", "what is the micro-purchase threshold?", "what is the launch date?").
Retrieval finds passages on the topic, so relevance cannot tell; the answer type can. A "how
many" question is answered only by a number of what it counts, a question about a price only by
an amount of money, one about a date only by a date, one about a threshold or a rate only by a
number beside that word. This is the expected-answer-type check of classic question answering,
read from the question's form alone: no word list of any corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..retrieve import STOPWORDS, _stemmer
from ..types import is_record_text

_STOPWORDS = frozenset(STOPWORDS)

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|dozens?|hundreds|thousands|millions|"
    r"single|both|several|few|once|twice|half"
)
_A_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)
_WORD = re.compile(r"[\w'-]+")

# "how many points of ...", "the maximum number of resumes", "what number of days"
_COUNTED = re.compile(
    r"\b(?:how many|(?:the|a|what|which)\s+(?:(?:maximum|minimum|max|min|total|exact|"
    r"average|typical)\s+)?number of)\s+((?:[\w'-]+\s+){0,4}[\w'-]+)",
    re.I,
)
# a share of something: "how much of my week", "what (exact) percentage of the fee"
_SHARE = re.compile(
    r"\b(?:how much of|what (?:\w+\s+)?(?:percentage|share|proportion|fraction|portion) of)\s+"
    r"((?:[\w'-]+\s+){0,2}[\w'-]+)",
    re.I,
)
# an amount of money: "how much does it cost", "what is the dollar amount", "the fee"
_MONEY_QUESTION = re.compile(
    r"\bhow much\b[^?.]*\b(?:cost|costs|charge|charged|pay|paid|earn|earns|make|money)\b|"
    r"\b(?:dollar|hourly|daily) (?:amount|value|figure|limit|threshold|rate|wage|pay)\b|"
    r"\bhow many dollars\b|"
    r"\bwhat(?:'s| is| are)\s+the\s+(?:\w+\s+){0,4}(?:fees?|price|cost|salary|wage)\b",
    re.I,
)
_MONEY = re.compile(
    r"[$€£¥]\s?\d|\b(?:usd|eur|gbp|chf|cad|aud)\s?\d|"
    r"\d[\d,.]*\s?(?:k|m|bn)?\s?(?:dollars|usd|eur|euros?|pounds)\b|"
    r"\b(?:free|no cost|no charge|unpaid)\b",
    re.I,
)
# a date: "what is the launch date", "when is it scheduled to go live", "in what year"
_DATE_QUESTION = re.compile(
    r"\b(?:what|which|in what)\s+(?:\w+\s+){0,2}(?:date|year|month|day of)\b|"
    r"\b(?:launch|release|due|target|start|end|go-live|expiration|effective)\s+date\b|"
    r"\bdeadline\b|\bwhen\s+(?:is|was|will|are|were|did|does)\b[^?.]*\b(?:scheduled|"
    r"planned|expected|due|launch\w*|release\w*|go(?:es)? live|published|founded|introduced|"
    r"created|start\w*|open\w*|close\w*|end\w*|expire\w*)\b",
    re.I,
)
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATE = re.compile(
    rf"\b(?:1[89]|20)\d\d\b|\b(?:{_MONTHS})\.?\s+\d|\b\d{{1,2}}\s+(?:{_MONTHS})\b|"
    r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|\bQ[1-4]\b|\bFY\s?\d{2}|"
    r"\b(?:spring|summer|fall|autumn|winter)\s+(?:of\s+)?\d{2,4}\b|"
    r"\b(?:today|tomorrow|yesterday|next|last|this)\s+(?:week|month|quarter|year)\b",
    re.I,
)
# a length of time: "how long does it take", "how often" ("how many weeks" is a count)
_DURATION_QUESTION = re.compile(r"\bhow long\b|\bhow soon\b|\bhow often\b", re.I)
_UNITS = (
    r"seconds?|minutes?|hours?|days?|nights?|weeks?|fortnights?|months?|quarters?|years?|"
    r"decades?|sprints?|semesters?|terms?|sessions?|pages?|words?|characters?|lines?"
)
_DURATION = re.compile(
    rf"(?:\d|\b(?:{_NUMBER_WORDS}|a|an|each|every|per)\b)[\s-]*(?:\w+[\s-]+)?(?:{_UNITS})\b|"
    r"\b(?:daily|weekly|monthly|quarterly|yearly|annually|hourly|immediately|indefinitely)\b",
    re.I,
)
# a number named by its kind: "what is the micro-purchase threshold", "the unemployment rate"
_MEASURE_QUESTION = re.compile(
    r"\bwhat(?:'s| is| are| was| were)\s+the\s+(?:[\w'-]+\s+){0,4}?"
    r"(threshold|limit|cap|ceiling|maximum|minimum|quota|rate)s?\b",
    re.I,
)

# a bound is said in many ways: "no more than four pages" is a page limit
_BOUNDS = frozenset({"limit", "cap", "ceiling", "maximum", "minimum"})
_BOUND_WORDS = re.compile(
    r"\b(?:no (?:more|less|fewer) than|not (?:to )?exceed\w*|up to|at (?:most|least)|maximum|"
    r"minimum|max|min|limit\w*|cap(?:ped)?)\b",
    re.I,
)


Stems = Callable[[list[str]], list[str]]


@dataclass(frozen=True)
class AnswerType:
    """The kind of value a question asks for (`count` of `noun`, `money`, `date`,
    `duration`, `share`, `measure`) and `focus`: words of which one must be in the unit that
    gives the value ("days of annual leave": leave; "the unemployment rate": rate)."""

    kind: str
    noun: str = ""
    focus: tuple[str, ...] = ()
    phrase: tuple[str, ...] = ()  # the counted noun phrase ("information security analyst jobs")

    def found_in(self, texts: list[str]) -> bool:
        """Does one of the units `texts` give a value of this kind?"""
        stems: Stems = _stemmer()  # Snowball, as BM25 stems; one per call (not thread-safe)
        focus = set(stems(list(self.focus)))
        counted = set(stems([w.lower() for w in self.phrase or (self.noun,)]))
        return any(self._in(text, stems, focus, counted) for text in texts)

    def _in(self, text: str, stems: Stems, focus: set[str], counted: set[str]) -> bool:
        words = set(stems([w.lower() for w in _WORD.findall(text)]))
        focused = bool(words & focus)
        if set(self.focus) & _BOUNDS and _BOUND_WORDS.search(text):
            focused = True  # "no more than four (4) pages" gives a page limit
        if self.focus and not focused:
            return False
        if self.kind == "count":
            # a table row quantifies what it names ("Registered nurses; Employment: 3,096.7")
            if is_record_text(text):
                return bool(words & counted) and bool(re.search(r"\d", text))
            return _counts(counted, text, stems)
        if self.kind in ("money", "measure", "share") and is_record_text(text):
            return bool(re.search(r"\d", text))  # a row's figures carry no units
        pattern = {"money": _MONEY, "date": _DATE, "duration": _DURATION}.get(self.kind)
        return (pattern or _A_NUMBER).search(text) is not None


def expected_type(question: str) -> AnswerType | None:
    """The answer type the question's form asks for, or None when any passage on its topic
    may answer it ("why", "what should I", "how do I")."""
    m = _SHARE.search(question)
    if m is not None:
        return AnswerType("share", focus=tuple(_content(m.group(1))[:1]))
    measure = _MEASURE_QUESTION.search(question)
    if _MONEY_QUESTION.search(question):
        # "the dollar amount of the threshold": an amount said of the threshold
        return AnswerType("money", focus=(measure.group(1).lower(),) if measure else ())
    m = _COUNTED.search(question)
    if m is not None:
        words = m.group(1).split()
        # what is counted: the noun phrase before the first small word ("IT people over 60":
        # people; "days of annual leave": days), its first plural, else its last word
        phrase = words[: next((i for i, w in enumerate(words) if w in _STOPWORDS), len(words))]
        phrase = [w.lower() for w in phrase or words[:1]]
        noun = next((w for w in phrase if w.endswith("s") and len(w) > 3), phrase[-1])
        # and what it is a number of: "days of annual leave" counts days of leave
        after = words[len(phrase) :]
        focus = tuple(_content(" ".join(after[1:]))[:2]) if after[:1] == ["of"] else ()
        return AnswerType("count", noun, focus, tuple(phrase))
    if _DATE_QUESTION.search(question):
        return AnswerType("date")
    if _DURATION_QUESTION.search(question):
        return AnswerType("duration")
    if measure is not None:
        return AnswerType("measure", focus=(measure.group(1).lower(),))
    return None


def _content(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def _counts(counted: set[str], text: str, stems: Stems) -> bool:
    """A number with a stem of the counted phrase among the next few words ("4-8 people",
    "50 multiple-choice questions", "4.5 Federal IT professionals" for "IT people")."""
    for m in _A_NUMBER.finditer(text):
        after = _WORD.findall(text[m.start() : m.start() + 60])[:6]
        if counted & set(stems([w.lower() for w in after])):
            return True
    return False
