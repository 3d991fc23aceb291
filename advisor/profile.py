"""The CV check: what the guide asks of an AI project manager, against what a CV shows.

The checklist is read from the guide itself (`settings.profile_guide`), not from a list in
code: inside the guide's sections that say what a reader needs (`settings.profile_sections`),
every list item is an item ("Leadership: Leading cross-functional teams effectively.") and so is
every name in an enumeration ("tools like TensorFlow, PyTorch, and Azure ML"); the group is the
nearest heading, and the order is the guide's own step order. Names get their aliases from the
guide's own parentheses ("Natural Language Processing (NLP)", "PMP (Project Management
Professional)").

Each item is then looked for in the CV, sentence by sentence: by name or alias (spacing, hyphens
and CamelCase forgiven: "Scrum Master" is "ScrumMaster"); by the stems of its words ("managed
stakeholders" is stakeholder management, partly); and by meaning with the packaged MiniLM
("led a team of 22 nurses" is leadership). Every found item carries the CV sentence verbatim with
its place; every item carries a normal `Citation` whose text is exactly the guide's span.

A skill a CV shows only by what the person did ("presented the monthly figures to the board" for
Communication) shares few words and little meaning with its bare name, so the guide's front
matter may give, per item, example CV lines that show it (`cv_examples:`, see corpus/README.md).
They are compared like the item's own text and are never quoted; a key that names no item is
reported and ignored.

Private by design: the CV is read from bytes in memory, embedded without the query cache, and
never written anywhere (no index, no log, no file); the caller keeps the result.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from .config import Settings
from .embed import Embedder
from .errors import ConfigError, UploadError
from .load import LOADERS, Unreadable, front_matter, heading_key, load_file
from .retrieve import spelled_out
from .types import Answer, Citation, SourceDocument

log = logging.getLogger(__name__)

Status = Literal["met", "partly", "missing"]
EXAMPLES_KEY = "cv_examples"  # front matter of the guide: item -> CV lines that show it
PRIVATE_BATCH = 32  # CV texts per encoder call

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_BULLET = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+(.*\S)[ \t]*$")
_STEP_NUMBER = re.compile(r"^\d+[.)]\s+")
_SENTENCE = re.compile(r"[^.!?]*[.!?]+(?=\s|$)|[^.!?]+$")
_TRIGGER = re.compile(r"\b(?:like|such as|including|include)\s+")
_WORD = r"[A-Z0-9][\w+#]*(?:-[\w+#]+)*"
_ITEM = re.compile(rf"{_WORD}(?:[ \t]+(?:–[ \t]+)?{_WORD})*(?:[ \t]*\([^()\n]{{1,60}}\))?")
_SEPARATOR = re.compile(r"[ \t]*,[ \t]*(?:and|or)[ \t]+|[ \t]*,[ \t]*|[ \t]+(?:and|or)[ \t]+")
_PAREN = re.compile(r"^(.*?)\s*\(([^()]+)\)\s*$")
_CAPITALISED = r"((?:[A-Z][\w-]*[ \t]+){1,5}[A-Z][\w-]*)"
_LONG_SHORT = re.compile(_CAPITALISED + r"[ \t]+\(([A-Z][A-Za-z0-9]*[A-Z0-9])\)")
_SHORT_LONG = re.compile(r"\b([A-Z][A-Z0-9]{1,9})[ \t]+\(((?:[A-Z][\w-]*[ \t]+){1,5}[A-Z][\w-]*)\)")
_LABEL = re.compile(r"^([^:]{2,60}):\s+(\S.*)$")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z+#]+|\d+")
_LINE_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z(\"'])")
_PERSONAL = re.compile(r"\b(?:i|me|my|mine|myself)\b", re.I)
_PLANNING = re.compile(
    r"\b(?:first|next|missing|miss|lack|lacking|gaps?|priorit\w*|readiness|ready)\b", re.I
)


def is_acronym(word: str) -> bool:
    return sum(ch.isupper() for ch in word) >= 2 and " " not in word


# --- the checklist model ------------------------------------------------------------------
class Evidence(BaseModel):
    """The CV sentence that shows an item, verbatim, and where it is in the CV text."""

    text: str
    start: int
    end: int
    line: int
    page: int | None = None


class ChecklistItem(BaseModel):
    item: str
    group: str
    status: Status
    evidence: Evidence | None = None
    citation: Citation
    how: str = Field("", description="How the evidence matched: name, words or meaning.")


class NextStep(BaseModel):
    item: str
    group: str
    citation: Citation


class Checklist(BaseModel):
    """The result of `advisor profile`: every item of the guide, then what to do next."""

    items: list[ChecklistItem]
    next_steps: list[NextStep]

    def to_json_dict(self) -> dict:
        """`{"items": [{"item", "group", "status", "evidence", "citation"}], "next_steps"}`."""
        return {
            "items": [
                {
                    "item": i.item,
                    "group": i.group,
                    "status": i.status,
                    "evidence": i.evidence.model_dump() if i.evidence else None,
                    "citation": i.citation.model_dump(exclude={"used"}),
                }
                for i in self.items
            ],
            "next_steps": [
                {
                    "item": s.item,
                    "group": s.group,
                    "citation": s.citation.model_dump(exclude={"used"}),
                }
                for s in self.next_steps
            ],
        }

    def counts(self) -> dict[str, int]:
        out = {"met": 0, "partly": 0, "missing": 0}
        for i in self.items:
            out[i.status] += 1
        return out


# --- reading the guide --------------------------------------------------------------------
@dataclass
class GuideItem:
    """One thing the guide asks for, with the span that asks for it."""

    label: str
    names: list[str]
    description: str
    group: str
    section: str
    start: int
    end: int
    family: int = 0  # items of one list or one enumeration share it (their first offset)
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # CV lines that show it (`cv_examples`)

    @property
    def embed_text(self) -> str:
        return f"{self.label}: {self.description}" if self.description else self.label

    @property
    def is_short(self) -> bool:
        """A name of a few words ("Stakeholder Management"), compared with CV phrases too."""
        return len(self.names[0].split()) <= 4


def _aliases(text: str) -> dict[str, set[str]]:
    """ "Long Form (LF)" and "LF (Long Form)" anywhere in the guide: each name -> the other."""
    table: dict[str, set[str]] = {}
    for long, short in _LONG_SHORT.findall(text):
        table.setdefault(long.casefold(), set()).add(short)
        table.setdefault(short.casefold(), set()).add(long)
    for short, long in _SHORT_LONG.findall(text):
        table.setdefault(long.casefold(), set()).add(short)
        table.setdefault(short.casefold(), set()).add(long)
    return table


def _enumerations(text: str, offset: int) -> list[tuple[str, int, int]]:
    """Names listed after "like", "such as", "including": (name, start, end)."""
    found: list[tuple[str, int, int]] = []
    for trigger in _TRIGGER.finditer(text):
        pos = trigger.end()
        while (m := _ITEM.match(text, pos)) is not None:
            found.append((m.group(0), offset + m.start(), offset + m.end()))
            sep = _SEPARATOR.match(text, m.end())
            if sep is None or _ITEM.match(text, sep.end()) is None:
                break
            pos = sep.end()
    return found


def name_pattern(name: str) -> re.Pattern[str]:
    """A name as a regex forgiving case, spacing, hyphens and CamelCase ("Scrum Master" for
    "ScrumMaster", "Tensorflow" for "TensorFlow"); an acronym keeps its case."""
    words = [w for w in re.split(r"[\s\-–]+", name.strip()) if w]
    parts = []
    for word in words:
        pieces = _CAMEL.findall(word) or [word]
        parts.append(r"[\s-]?".join(re.escape(p) for p in pieces))
    body = r"[\s\-–]+".join(parts)
    flags = 0 if name.isupper() or any(is_acronym(w) and w.isupper() for w in words[:1]) else re.I
    return re.compile(rf"(?<!\w){body}(?-i:(?![a-z0-9_]))", flags)


def _names(label: str, aliases: dict[str, set[str]]) -> list[str]:
    """A label's names: itself without its parenthesis, the parenthesis, and their aliases."""
    names = [label]
    if m := _PAREN.match(label):
        names = [m.group(1), m.group(2)]
    for n in list(names):
        names += sorted(aliases.get(n.casefold(), set()))
    out: list[str] = []
    for n in names:
        n = n.strip(" .")
        if n and n.casefold() not in {o.casefold() for o in out}:
            out.append(n)
    return out


def _section_path(stack: list[tuple[int, str]]) -> str:
    return " > ".join(title for _, title in stack[1:])  # the document title is not a section


def guide_items(doc: SourceDocument, sections: list[str]) -> list[GuideItem]:
    """The checklist items of the guide, in its order (see the module docstring)."""
    text = doc.text
    _, body_start = front_matter(text)
    aliases = _aliases(text[body_start:])
    headings = list(_HEADING.finditer(text, body_start))
    items: list[GuideItem] = []
    stack: list[tuple[int, str]] = []
    chosen_level: int | None = None
    for i, h in enumerate(headings):
        level, title = len(h.group(1)), h.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        if chosen_level is not None and level <= chosen_level:
            chosen_level = None
        if chosen_level is None and any(
            fnmatch.fnmatch(title.casefold(), p.casefold()) for p in sections
        ):
            chosen_level = level
        if chosen_level is None:
            continue
        end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
        group = _STEP_NUMBER.sub("", title)
        items += _items_of_block(text, h.end(), end, group, _section_path(stack), aliases)
    return _merge(items)


def _items_of_block(
    text: str, start: int, end: int, group: str, section: str, aliases: dict[str, set[str]]
) -> list[GuideItem]:
    out: list[GuideItem] = []

    def add(label: str, description: str, s: int, e: int, family: int) -> None:
        names = _names(label, aliases)
        out.append(GuideItem(label, names, description, group, section, s, e, family))

    pos, list_start = start, None
    for line in text[start:end].splitlines(keepends=True):
        line_start, pos = pos, pos + len(line)
        if bullet := _BULLET.match(line):
            content, cs = bullet.group(1), line_start + bullet.start(1)
            ce = cs + len(content)
            list_start = line_start if list_start is None else list_start
            named = _enumerations(content, cs)
            if named:
                for name, _, _ in named:
                    add(name, "", cs, ce, cs)
                continue
            m = _LABEL.match(content)
            if m and len(m.group(1).split()) <= 6:
                add(m.group(1).strip(), m.group(2).strip(), cs, ce, list_start)
            else:
                add(content.rstrip("."), "", cs, ce, list_start)
            continue
        if line.strip():
            list_start = None
        for sentence in _SENTENCE.finditer(line):
            raw = sentence.group(0)
            stripped = raw.strip()
            if not stripped:
                continue
            ss = line_start + sentence.start() + (len(raw) - len(raw.lstrip()))
            se = ss + len(stripped)
            for name, _, _ in _enumerations(stripped, ss):
                add(name, "", ss, se, ss)
    return out


def _merge(items: list[GuideItem]) -> list[GuideItem]:
    """One item per thing: a name asked for twice ("PMP" in a step and among certifications)
    keeps its first place in the guide."""
    kept: list[GuideItem] = []
    seen: set[str] = set()
    for item in items:
        keys = {n.casefold() for n in item.names}
        if keys & seen:
            continue
        seen |= keys
        item.patterns = [name_pattern(n) for n in item.names]
        item.patterns += [p for n in item.names if (p := spelled_out(n)) is not None]
        kept.append(item)
    return kept


# --- reading the CV -----------------------------------------------------------------------
@dataclass(frozen=True)
class CvSentence:
    text: str
    start: int
    end: int
    line: int


def _logical_lines(text: str) -> list[tuple[int, int, int]]:
    """(start, end, first line number) of each line, with wrapped lines joined again: a line
    as long as the longest ones that ends mid-sentence continues on the next one (a PDF's
    wrapping), and so does a list item on its indented lines (a hard-wrapped text's); a line
    that starts a list item starts a new one."""
    spans, pos = [], 0
    for line in text.splitlines(keepends=True):
        spans.append((pos, pos + len(line.rstrip("\r\n"))))
        pos += len(line)
    widest = max((e - s for s, e in spans), default=0)
    out: list[tuple[int, int, int]] = []
    joining = in_item = False
    for number, (s, e) in enumerate(spans, start=1):
        line = text[s:e]
        bullet = bool(_BULLET.match(line))
        indented = in_item and line[:1] in (" ", "\t")
        if (joining or indented) and line.strip() and not bullet:
            out[-1] = (out[-1][0], e, out[-1][2])
        else:
            out.append((s, e, number))
            in_item = bullet
        in_item = in_item and bool(line.strip())
        stripped = line.rstrip()
        joining = widest >= 60 and len(stripped) >= 0.8 * widest and stripped[-1:] not in ".!?:;"
    return out


def cv_sentences(text: str) -> list[CvSentence]:
    """The CV's sentences and list items, each with its character offsets and line number;
    `text[start:end]` is the sentence exactly as the CV has it."""
    out: list[CvSentence] = []
    for start, end, number in _logical_lines(text):
        line = text[start:end]
        body = re.sub(r"^[\s>*#\-•·–]+(?:\d+[.)]\s+)?", "", line)
        offset = start + len(line) - len(body)
        cursor = 0
        for piece in _LINE_SENTENCE.split(body):
            at = body.find(piece, cursor)
            cursor = at + len(piece)
            stripped = piece.strip()
            if sum(ch.isalnum() for ch in stripped) < 2:
                continue
            s = offset + at + (len(piece) - len(piece.lstrip()))
            out.append(CvSentence(stripped, s, s + len(stripped), number))
    return out


_PHRASE_WORD = re.compile(r"[A-Za-z][\w'+#-]*")


def cv_phrases(sentences: list[CvSentence], longest: int = 3) -> list[tuple[int, str]]:
    """Short phrases of the CV's sentences (2 to `longest` words, not starting or ending with a
    stopword), with the index of their sentence: "led a team" is leadership even when the
    whole sentence is about nurses."""
    from .retrieve import STOPWORDS

    stop = set(STOPWORDS)
    out: list[tuple[int, str]] = []
    seen: set[str] = set()
    for j, s in enumerate(sentences):
        words = _PHRASE_WORD.findall(s.text)
        for n in range(2, longest + 1):
            for k in range(len(words) - n + 1):
                span = words[k : k + n]
                if span[0].casefold() in stop or span[-1].casefold() in stop:
                    continue
                phrase = " ".join(span)
                key = phrase.casefold()
                if key not in seen:
                    seen.add(key)
                    out.append((j, phrase))
    return out


def read_cv(raw: bytes, name: str, settings: Settings) -> SourceDocument:
    """A CV file's text through the loaders of `advisor.load`, chosen by content, in memory."""
    from .uploads import content_kind

    if len(raw) > settings.upload_max_mb * 1e6:
        raise UploadError(
            f"The CV is {len(raw) / 1e6:,.1f} MB; the limit is {settings.upload_max_mb:g} MB."
        )
    try:
        kind = content_kind(raw, name, settings)
    except UploadError as exc:
        raise UploadError(f"The CV cannot be read: {exc}.") from None
    loader = LOADERS.get(kind)
    if loader is None:
        raise UploadError(
            f"The CV is a {kind.lstrip('.').upper()} file, which this version cannot read; "
            "save it as PDF or paste its text."
        )
    try:
        converted = loader(raw, Path(name))
        text, title, pages = converted.text, converted.title, converted.page_starts
    except Unreadable as exc:
        raise UploadError(f"The CV cannot be read: {exc}.") from None
    if not text.strip():
        raise UploadError("No text could be read from the CV (is it a scanned image?).")
    return SourceDocument(
        doc_id="cv", source=name, title=title or "CV", text=text, content_hash="", page_starts=pages
    )


# --- the check ----------------------------------------------------------------------------
class CvChecker:
    """Builds checklists against one guide; the guide's items are read and embedded once."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self._lock = threading.Lock()

    @cached_property
    def guide(self) -> SourceDocument:
        path = self.settings.corpus_dir / self.settings.profile_guide
        if not path.is_file():
            raise ConfigError(
                f"The CV check needs the guide {path} (set ADVISOR_PROFILE_GUIDE to a corpus file)."
            )
        try:
            return load_file(path, self.settings.corpus_dir)
        except Unreadable as exc:
            raise ConfigError(f"The guide {path} cannot be read: {exc}.") from None

    @cached_property
    def items(self) -> list[GuideItem]:
        found = guide_items(self.guide, self.settings.profile_sections)
        if not found:
            raise ConfigError(
                f"No checklist items found in {self.settings.profile_guide}: no list or "
                "enumeration under the headings of ADVISOR_PROFILE_SECTIONS."
            )
        for label, lines in cv_examples(self.guide.text, found).items():
            next(i for i in found if i.label == label).examples = lines
        return found

    @cached_property
    def item_texts(self) -> list[tuple[int, str]]:
        """What each item is compared with, as (item index, text): the item with its own
        description, and every other described list entry of the guide that names it
        ("Stakeholder Communication: Ensuring clear, consistent updates ..." for
        Communication), so a short name borrows the guide's own words for it."""
        described = [
            (m.group(1).strip(), m.group(0))
            for line in self.guide.text[front_matter(self.guide.text)[1] :].splitlines()
            if (b := _BULLET.match(line)) and (m := _LABEL.match(b.group(1)))
        ]
        out = []
        for i, item in enumerate(self.items):
            out.append((i, item.embed_text))
            out.extend((i, line) for line in item.examples)
            stems = _stems(item.names[0])
            if not item.is_short or not stems:
                continue
            for label, entry in described:
                if stems <= _stems(label) and entry != item.embed_text:
                    out.append((i, entry))
        return out

    @cached_property
    def _row_bonus(self) -> np.ndarray:
        """Per row of `item_texts`, what its cosine is raised by: an example CV line is a
        sentence as specific as the CV's own, so two lines showing the same skill with different
        particulars score lower than a line against a short description of it; the bonus puts
        the two on one scale (`profile_example_bonus`)."""
        bonus = self.settings.profile_example_bonus
        return np.array(
            [bonus if t in self.items[i].examples else 0.0 for i, t in self.item_texts],
            dtype=np.float32,
        )

    @cached_property
    def domain_stems(self) -> set[str]:
        """Stems in a quarter or more of the guide's sentences ("AI", "project"): every item
        and half of any CV of the field say them, so they are left out of the comparison by
        meaning (as retrieval leaves out the corpus's domain words)."""
        from .retrieve import STOPWORDS

        body = self.guide.text[front_matter(self.guide.text)[1] :]
        sentences = [x for x in re.split(r"(?<=[.!?:])\s+|\n+", body) if len(x.split()) >= 3]
        counts: dict[str, int] = {}
        stem = _stemmer()
        for sentence in sentences:
            for word in set(stem([w.casefold() for w in _PHRASE_WORD.findall(sentence)])):
                counts[word] = counts.get(word, 0) + 1
        stop = set(STOPWORDS)
        return {w for w, c in counts.items() if c >= 0.25 * len(sentences) and w not in stop}

    def _for_meaning(self, text: str) -> str:
        """`text` without the guide's domain words, for embedding."""
        domain = self.domain_stems
        words = _PHRASE_WORD.findall(text)
        stems = _stemmer()([w.casefold() for w in words])
        kept = [w for w, st in zip(words, stems, strict=True) if st not in domain]
        return " ".join(kept) or text

    @cached_property
    def item_vectors(self) -> np.ndarray:
        return self.embedder.embed([self._for_meaning(t) for _, t in self.item_texts])

    @cached_property
    def name_vectors(self) -> np.ndarray:
        """Each short item's first name (long ones get zeros: they are compared as sentences)."""
        vectors = self.embedder.embed([self._for_meaning(i.names[0]) for i in self.items])
        short = np.array([i.is_short for i in self.items], dtype=np.float32)
        return vectors * short[:, None]

    @cached_property
    def _rare_acronyms(self) -> list[set[str]]:
        """Per item, the acronyms of its names that the guide uses at most twice (AWS, not AI):
        one of them alone in a CV meets the item partly."""
        body = self.guide.text[front_matter(self.guide.text)[1] :]
        out = []
        for item in self.items:
            words = {w for n in item.names if " " in n for w in re.findall(r"[\w]+", n)}
            rare = {
                w
                for w in words
                if is_acronym(w) and len(re.findall(rf"(?<!\w){re.escape(w)}(?!\w)", body)) <= 2
            }
            out.append(rare)
        return out

    def citation(self, n: int, item: GuideItem) -> Citation:
        doc = self.guide
        return Citation(
            n=n,
            doc_id=doc.doc_id,
            title=doc.title,
            section=item.section,
            source=doc.source,
            start=item.start,
            end=item.end,
            text=doc.text[item.start : item.end],
            page=doc.page_at(item.start),
            used=[(0, item.end - item.start)],
        )

    def _embed_private(self, texts: list[str]) -> np.ndarray:
        """CV sentences, embedded without the question cache (they must not outlive the call),
        in length order and small batches, so little of the work is padding."""
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
        out = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        for i in range(0, len(order), PRIVATE_BATCH):
            part = order[i : i + PRIVATE_BATCH]
            out[part] = self.embedder._encode_small([texts[k] for k in part])
        return out

    def check_text(self, text: str, page_starts: list[int] | None = None) -> Checklist:
        """The checklist for a CV's text."""
        if len(text) > self.settings.max_cv_chars:
            raise UploadError(
                f"The CV is {len(text):,} characters long; the limit is "
                f"{self.settings.max_cv_chars:,} (ADVISOR_MAX_CV_CHARS)."
            )
        sentences = cv_sentences(text)
        if not sentences:
            raise UploadError("The CV has no sentences to check. Paste its text or upload it.")
        with self._lock:
            items, vectors, rare = self.items, self.item_vectors, self._rare_acronyms
            self._row_bonus  # noqa: B018 - computed under the lock like the rest
            names = self.name_vectors
        # meaning needs a sentence: not a heading, a name or a date
        done = [_done(s.text) for s in sentences]  # what the person did, not what they plan
        wordy = [k for k, d in enumerate(done) if len(_PHRASE_WORD.findall(d)) >= 5]
        sims = np.full((len(items), len(sentences)), -1.0, dtype=np.float32)
        if wordy:
            texts = [self._for_meaning(done[k]) for k in wordy]
            by_text = vectors @ self._embed_private(texts).T + self._row_bonus[:, None]
            for row, (i, _) in enumerate(self.item_texts):
                sims[i, wordy] = np.maximum(sims[i, wordy], by_text[row])
        phrases = [
            (j, self._for_meaning(p))
            for j, p in cv_phrases([replace(sentences[k], text=done[k]) for k in wordy])
            if self._for_meaning(p) == p  # "manage AI projects" says only the domain
        ]
        phrase_sims = names @ self._embed_private([p for _, p in phrases]).T
        named = np.array(
            [[any(p.search(s.text) for p in item.patterns) for s in sentences] for item in items],
            dtype=bool,
        ).reshape(len(items), len(sentences))
        # a sentence naming one item of a list does not show its siblings by meaning ("Machine
        # Learning" is not deep learning), and does not compete for items of other lists
        family = np.array([item.family for item in items])
        siblings = (family[:, None] == family[None, :]).astype(np.float32)
        blocked = (siblings @ named.astype(np.float32)) > 0
        margin = self.settings.profile_margin
        scores, where = _best_about(sims, np.arange(len(sentences)), named, blocked, margin)
        p_scores, p_where = _best_about(
            phrase_sims,
            np.array([wordy[j] for j, _ in phrases], dtype=int),
            named,
            blocked,
            margin,
        )
        better = p_scores > scores
        scores, where = np.where(better, p_scores, scores), np.where(better, p_where, where)
        doc = SourceDocument(
            doc_id="cv",
            source="cv",
            title="CV",
            text=text,
            content_hash="",
            page_starts=page_starts,
        )
        out = []
        for i, item in enumerate(items):
            status, at, how = self._match(
                item, rare[i], sentences, done, float(scores[i]), int(where[i])
            )
            evidence = None
            if at is not None:
                s = sentences[at]
                evidence = Evidence(
                    text=s.text, start=s.start, end=s.end, line=s.line, page=doc.page_at(s.start)
                )
            out.append(
                ChecklistItem(
                    item=item.label,
                    group=item.group,
                    status=status,
                    evidence=evidence,
                    citation=self.citation(i + 1, item),
                    how=how,
                )
            )
        steps = [
            NextStep(item=c.item, group=c.group, citation=c.citation)
            for c in out
            if c.status == "missing"
        ]
        return Checklist(items=out, next_steps=steps)

    def _match(
        self,
        item: GuideItem,
        rare: set[str],
        sentences: list[CvSentence],
        done: list[str],
        score: float,
        j: int,
    ) -> tuple[Status, int | None, str]:
        """`done`: each sentence up to any intention in it (`_done`)."""
        hedged: int | None = None
        denied: set[int] = set()  # sentences that deny the item: no evidence of it at all
        for k, s in enumerate(sentences):  # by name or alias: the CV says it
            found = [
                m
                for p in item.patterns
                for m in p.finditer(s.text)
                if m.start() < len(done[k])  # a name after "seeking", "plan to": no evidence
                and not _means_other(m.group(0), s.text, item.names)
            ]
            if found and all(_denied(s.text, m.start()) for m in found):
                denied.add(k)
                continue
            if any(not _hedged(s.text, m.start(), m.end()) for m in found):
                return "met", k, "name"
            if found and hedged is None:
                hedged = k
        if hedged is not None:  # "familiar with Scrum", "TensorFlow (coursework only)"
            return "partly", hedged, "name, hedged"
        # by meaning (see _best_about): met only for an item the guide explains in words or
        # shows by examples; a bare name ("Trello") is at most partly shown by other words
        if j in denied:
            score = -1.0
        if score >= self.settings.profile_met and (item.description or item.examples):
            return "met", j, f"meaning {score:.2f}"
        stems, explained = _stems(item.label), _stems(item.description)
        evidence = [(k, text) for k, text in enumerate(done) if k not in denied]
        for k, text in evidence:
            words = _stems(text)
            if stems and stems <= words:  # "managed clinical risk": risk management
                return "partly", k, "words"
            shared = len(explained & words)  # the guide's own explanation, mostly
            if shared >= 3 and shared >= 0.6 * len(explained):
                return "partly", k, "words"
        spelled = {w: spelled_out(w) for w in rare}
        for k, text in evidence:
            for w, spelled_words in spelled.items():
                # "Academic Workload System (AWS)": the CV's AWS is not the guide's
                if _means_other(w, text, item.names):
                    continue
                if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text) or (
                    spelled_words is not None and spelled_words.search(text)
                ):
                    return "partly", k, "name"
        if score >= self.settings.profile_partly:
            return "partly", j, f"meaning {score:.2f}"
        return "missing", None, ""

    def check_file(self, path: Path) -> Checklist:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UploadError(f"The CV {path} cannot be read ({exc.strerror or exc}).") from None
        doc = read_cv(raw, path.name, self.settings)
        return self.check_text(doc.text, doc.page_starts)

    def check_bytes(self, raw: bytes, name: str) -> Checklist:
        doc = read_cv(raw, name, self.settings)
        return self.check_text(doc.text, doc.page_starts)


def cv_examples(text: str, items: list[GuideItem]) -> dict[str, list[str]]:
    """The guide's `cv_examples:` front matter, by item label: an entry is keyed by an item's
    label or one of its names (case and spacing do not matter) and lists CV lines that show
    the item. Entries that name no item, or are not lists of text, are reported and left out
    rather than failing the check."""
    raw = front_matter(text)[0].get(EXAMPLES_KEY)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        log.warning("The guide's %s must map checklist items to lists of CV lines.", EXAMPLES_KEY)
        return {}
    by_name = {heading_key(n): item.label for item in items for n in [item.label, *item.names]}
    out: dict[str, list[str]] = {}
    for key, lines in raw.items():
        label = by_name.get(heading_key(str(key)))
        if label is None:
            log.warning(
                "The guide's %s for %r were ignored: no item has that name.", EXAMPLES_KEY, key
            )
            continue
        if not isinstance(lines, list) or not all(isinstance(x, str) and x.strip() for x in lines):
            log.warning("The guide's %s for %r were ignored: each must be text.", EXAMPLES_KEY, key)
            continue
        out.setdefault(label, []).extend(x.strip() for x in lines)
    return out


def _means_other(name: str, text: str, names: list[str]) -> bool:
    """An acronym the CV spells out as something else: "NLP Practitioner (neuro-linguistic
    programming)" or "Academic Workload System (AWS)" is not natural language processing or
    Amazon's cloud. The CV's own expansion, in parentheses after the acronym or before the
    acronym in parentheses, has the acronym's initials and none of the item's other names."""
    letters = name.strip().upper()
    if not is_acronym(name.strip()):
        # the words of such an expansion match the item's initials ("Perioperative Medicine
        # Pathway" for PMP): inside the parentheses after those initials, and not one of the
        # item's own names, they are that other thing too
        phrase = " ".join(name.split())
        words = [w for w in re.split(r"[\s-]+", phrase) if w and w.lower() not in _SMALL]
        initials = re.escape("".join(w[0] for w in words).upper())
        beside = (
            rf"(?<!\w){initials}\s*\(\s*{re.escape(phrase)}\s*\)"
            rf"|(?<!\w){re.escape(phrase)}\s*\(\s*{initials}\s*\)"
        )
        return bool(re.search(beside, " ".join(text.split()))) and not any(
            _stems(n) <= _stems(phrase) for n in names if not is_acronym(n.strip())
        )
    flat = " ".join(text.split())  # hard-wrapped: "(Perioperative\n ..."
    # ... or before it: "Perioperative Medicines Protocol (PMP)"
    before = rf"((?:[\w'’-]+\s+){{1,10}})\(\s*{re.escape(name.strip())}\s*\)"
    for m in re.finditer(before, flat):
        words = [w for w in re.split(r"[\s-]+", m.group(1)) if w and w.lower() not in _SMALL]
        last = words[-len(letters) :]
        if len(words) < len(letters) or "".join(w[0] for w in last).upper() != letters:
            continue
        phrase = " ".join(last)
        if not any(_stems(n) <= _stems(phrase) for n in names if n.strip().upper() != letters):
            return True
    near = rf"(?<!\w){re.escape(name.strip())}(?!\w)[^()\n]{{0,40}}\(([^()\n]{{3,80}})\)"
    for m in re.finditer(near, flat):
        words = [w for w in re.split(r"[\s-]+", m.group(1)) if w and w.lower() not in _SMALL]
        if "".join(w[0] for w in words).upper() != letters:
            continue
        if not any(_stems(n) <= _stems(m.group(1)) for n in names if n.strip().upper() != letters):
            return True
    return False


_SMALL = {"of", "and", "for", "the", "in", "on", "to", "&"}


# English for "not really (yet)": a CV names the item, but says it is only begun or known of
_HEDGE = re.compile(
    r"\b(?:familiar(?:ity)? with|exposure to|awareness of|introduct(?:ion|ory) to|intro to|"
    r"basics|basic (?:knowledge|understanding|grasp)|beginner|coursework|course work|"
    r"studying(?: for)?|working towards?|in progress|currently (?:learning|completing))\b",
    re.I,
)
_SEGMENT_END = re.compile(r"[,;|•·\n]|\s-\s|\.\s")
# what the person means to do, not what they did: "Seeking a role applying machine learning",
# "I plan to start the PMP", "Would like to learn: Jira", "I want my first AI project to be ..."
_INTENT = re.compile(
    r"\b(?:seek(?:ing|s)?|looking (?:to|for)|(?:plan|plans|planning|intend|intends|intending|"
    r"hope|hopes|hoping|aim|aims|aiming|wish|aspire|aspiring|keen|eager|would like|'d like) to|"
    r"want|wants|wanting|interested in|objective|goal)\b",
    re.I,
)


def _done(text: str) -> str:
    """The part of a CV sentence before any intention in it: what the person did or has ("I
    have been pulled into forecasting projects, and I now want to move into AI": the first
    half)."""
    m = _INTENT.search(text)
    return text if m is None else text[: m.start()]


def _hedged(text: str, start: int, end: int) -> bool:
    """Is the name at text[start:end] hedged within its own list segment ("Jira, familiar with
    Scrum": Scrum is, Jira is not)? Parentheses right after the name belong to it."""
    left = _segment_start(text, start)
    right = next((m.start() for m in _SEGMENT_END.finditer(text, end)), len(text))
    if (close := text.find(")", end)) != -1 and "(" in text[end:close + 1]:
        right = max(right, close + 1)
    segment = text[left:start] + " " * (end - start) + text[end:right]  # the name is no hedge
    return bool(_HEDGE.search(segment))


# "I have no Python", "We were not a Scrum shop", "never used Jira": the CV denies the item
_DENIAL = re.compile(r"\b(?:no|not|never|without|nor)\b|n['’]t\b", re.I)


def _denied(text: str, start: int) -> bool:
    """Is the name at text[start:] denied by a negation before it in its own clause (up to a
    comma, semicolon, line or sentence end; a parenthesis opens a clause too: "no programming
    experience (no Python or SQL)")?"""
    left = max(_segment_start(text, start), text.rfind("(", 0, start) + 1)
    return bool(_DENIAL.search(text[left:start]))


def _segment_start(text: str, start: int) -> int:
    """Where the list segment or clause holding text[start] begins (`_SEGMENT_END`)."""
    return max((m.end() for m in _SEGMENT_END.finditer(text, 0, start)), default=0)


def _best_about(
    sims: np.ndarray, sentence_of: np.ndarray, named: np.ndarray, blocked: np.ndarray, margin: float
) -> tuple[Any, Any]:
    """Per item (row), the best score over the columns (sentences or phrases) that are about
    that item, i.e. where no other item is closer by more than `margin`, and the sentence of
    that column. Items a sentence names (`named`: items x sentences) are found there already
    and do not compete; `blocked` items are not looked for there. An item with no such column
    scores -1."""
    n = sims.shape[0]
    if sims.shape[1] == 0:
        return np.full(n, -1.0), np.zeros(n, dtype=int)
    competing = np.where(named[:, sentence_of], -1.0, sims)
    about = sims >= competing.max(axis=0, keepdims=True) - margin
    masked = np.where(about & ~blocked[:, sentence_of], sims, -1.0)
    best = masked.argmax(axis=1)
    return masked[np.arange(n), best], sentence_of[best]


def _stemmer() -> Any:
    from .retrieve import _stemmer as stemmer

    return stemmer()


def _stems(text: str) -> set[str]:
    from .retrieve import STOPWORDS

    words = [w for w in re.findall(r"[a-z]{3,}", text.casefold()) if w not in STOPWORDS]
    return set(_stemmer()(words))


def check_cv(
    cv: str | Path, settings: Settings | None = None, embedder: Embedder | None = None
) -> Checklist:
    """The checklist for a CV file (a `Path`) or a CV's text (a `str`)."""
    from .embed import make_embeddings

    settings = settings or Settings()
    checker = CvChecker(settings, embedder or make_embeddings(settings))
    return checker.check_file(cv) if isinstance(cv, Path) else checker.check_text(cv)


# --- answering from a checklist -----------------------------------------------------------
def asks_about_own_plan(question: str) -> bool:
    """ "What should I learn first?", "what am I missing?": a question about the user's own
    next steps, which a CV check can answer."""
    return bool(_PERSONAL.search(question) and _PLANNING.search(question))


def plan_answer(question: str, checklist: Checklist, limit: int = 3) -> Answer:
    """The first missing items, in the guide's order, each quoting the guide with its `[n]`."""
    steps = checklist.next_steps[:limit]
    citations: list[Citation] = []
    if not steps:
        partly = [i for i in checklist.items if i.status == "partly"][:limit]
        if not partly:
            text = "Your CV shows every item of the guide's checklist."
            return Answer(question=question, answer=text, generator="cv-check")
        lines = ["Your CV shows every item at least in part; these it shows only partly:"]
        for n, item in enumerate(partly, start=1):
            citations.append(item.citation.model_copy(update={"n": n}))
            lines.append(f"{n}. {item.item} ({item.group}): {item.citation.text} [{n}]")
        return Answer(
            question=question, answer="\n".join(lines), citations=citations, generator="cv-check"
        )
    lines = [
        "From your CV check, the first things the guide asks for that your CV does not show "
        "yet, in the guide's order:"
    ]
    for n, step in enumerate(steps, start=1):
        citations.append(step.citation.model_copy(update={"n": n}))
        lines.append(f"{n}. {step.item} ({step.group}): {step.citation.text} [{n}]")
    more = len(checklist.next_steps) - len(steps)
    if more > 0:
        lines.append(f"\n{more} more item(s) are missing; the checklist lists them all.")
    return Answer(
        question=question, answer="\n".join(lines), citations=citations, generator="cv-check"
    )
