"""The judges: `GroundingJudge` (offline: citation rules, the explicit rules, then MiniLM cosine
combined with word coverage) and `LLMJudge` (a chat model, with the offline judge as fallback)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from .align import content_words, unaligned
from .claims import (
    clauses,
    passage_sentences,
    quantities,
    split_lines,
    split_sentences,
    strip_markers,
)
from .lexicon import _ATTRIBUTION, _NO_CLAIM
from .rules import (
    _names,
    check_entities,
    check_list_items,
    check_negation,
    check_number_owner,
    check_numbers,
    check_quantifier,
    check_reversal,
    check_swapped_name,
    coverage,
)

if TYPE_CHECKING:
    from ..embed import Embedder


_PAIR = re.compile(  # a noun phrase's pair after a determiner or preposition: "the retail and
    # education sectors", "in tech or finance"
    r"(?:^|\b(?:the|a|an|in|of|for|like|as|both|either|from|with|by|on|at|into|be|is|are)"
    r" )([a-z]{3,}) (?:and|or) ([a-z]{3,})\b(?!['’])", re.I)
_YES_NO = {"true": True, "yes": True, "supported": True, "false": False, "no": False,
           "unsupported": False, "not supported": False}


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


def is_claim(text: str) -> bool:
    """Whether a sentence states something a source must back. A pure lead-in ("Popular options
    include:", no numbers), a question, a decline or a courtesy states nothing; an answer made of
    these alone tells the user nothing."""
    claim = strip_markers(text)
    if not claim or not any(ch.isalnum() for ch in claim):
        return False
    lead_in = claim.endswith(":") and not quantities(claim)
    return not (lead_in or claim.endswith("?") or _NO_CLAIM.match(claim))


def citation_verdict(text: str, cites: list[int], n_contexts: int) -> SentenceVerdict | None:
    """Rules on the markers alone: a claim needs a citation and a citation needs a source. A pure
    lead-in ("Popular options include:", no numbers), a question or a decline needs none."""
    claim = strip_markers(text)
    if bad := [n for n in cites if not 1 <= n <= n_contexts]:
        reason = f"cites [{bad[0]}] but only {n_contexts} source{'s' * (n_contexts != 1)}"
        return SentenceVerdict(text=text, citations=cites, supported=False, score=0.0,
                               reason=reason)
    if not cites:
        ok = not is_claim(claim)
        return SentenceVerdict(text=text, citations=[], supported=ok, score=float(ok),
                               reason="no citation needed" if ok else "no citation")
    return None


class GroundingJudge:
    """Offline judge: explicit rules first, then cosine (MiniLM) combined with word coverage."""

    def __init__(self, embedder: Embedder | None = None, threshold: float = 0.5,
                 clause_cosine: float = 0.55, clause_coverage: float = 0.5,
                 align_share: float = 0.5, align_cosine: float = 0.75) -> None:
        if embedder is None:
            from ..config import Settings
            from ..embed import Embedder as _Embedder

            embedder = _Embedder(Settings())
        self.embedder, self.threshold = embedder, threshold
        self.clause_cosine, self.clause_coverage = clause_cosine, clause_coverage
        self.align_share, self.align_cosine = align_share, align_cosine
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
        claim, joined = _ATTRIBUTION.sub("", strip_markers(text)), "\n".join(passages)
        self._embed([claim], passages)  # cached: only a claim without its attribution is new
        sents = [s for p in passages for s in passage_sentences(p)]
        (cos, closest), cov = self._best(claim, sents), coverage(claim, joined)[0]
        score = round(float(np.clip(0.5 * cos + 0.5 * cov, 0, 1)), 3)

        def verdict(ok: bool, reason: str) -> SentenceVerdict:
            shown = score if ok else min(score, self.threshold - 0.01)
            return SentenceVerdict(text=text, citations=cites, supported=ok, score=shown,
                                   reason=reason)

        if reason := (check_numbers(claim, joined) or check_number_owner(claim, joined)
                      or check_entities(claim, joined)
                      or check_list_items(claim, joined) or self._pair_members(claim, joined)):
            return verdict(False, reason)
        for clause in clauses(claim) or [claim]:
            if not is_claim(clause):
                continue  # "One thing to know going in:" leads in and states nothing
            ccos, best = self._best(clause if clause in self._vectors else claim, sents)
            ccov, missing = coverage(clause, joined)
            if len(missing) >= 2 and ccov < self.clause_coverage and ccos < self.clause_cosine:
                return verdict(False, f"unsupported clause: '{clause}'")
            if reason := self._alignment(clause, joined, ccos):
                return verdict(False, reason)
            # a short clause ("which comes before deployment") may be closest to another
            # sentence than the one its sentence restates: both are asked
            reversed_ = (check_reversal(clause, b, joined) for b in dict.fromkeys([best, closest]))
            if reason := check_negation(clause, joined) or next(filter(None, reversed_), None):
                return verdict(False, reason)
            if reason := check_quantifier(clause, best, joined):
                return verdict(False, reason)
            if reason := check_swapped_name(clause, joined, claim):
                return verdict(False, reason)
        if score >= self.threshold:
            return verdict(True, "supported")
        return verdict(False, f"weak support ({score:.2f})")

    def _word_vectors(self, words: list[str]) -> dict[str, np.ndarray]:
        """MiniLM vectors of single words (cached with the sentence vectors)."""
        todo = sorted({w for w in words if w not in self._vectors})
        if todo:
            self._vectors.update(zip(todo, self.embedder.embed(todo), strict=True))
        return self._vectors

    def _pair_members(self, claim: str, passage: str) -> str | None:
        """"The retail and education sectors" against "tech, healthcare and finance": a member
        of a pair that no passage word matches, in any words, is a swapped fact."""
        names = {w.lower() for _, w, _ in _names(claim)}
        for m in _PAIR.finditer(claim):
            for member in (m.group(1), m.group(2)):
                if member.lower() in names or not content_words(member):
                    continue
                if unaligned(member, passage, self._word_vectors):
                    return f"'{member}' not in cited passage, in any words"
        return None

    def _alignment(self, clause: str, passage: str, cosine: float) -> str | None:
        """A clause most of whose words (names aside: the entity rules judge those) align with
        nothing in the passage says something else, however close the sentence vectors are."""
        names = {w.lower() for _, w, _ in _names(clause)}
        words = [w for w in content_words(clause) if w not in names]
        loose = [(w, s) for w, s in unaligned(clause, passage, self._word_vectors)
                 if w not in names]
        if not words or not loose:
            return None
        share = len(loose) / len(words)
        if len(loose) >= 2 and share >= self.align_share and cosine < self.align_cosine:
            said = ", ".join(f"'{w}'" for w, _ in loose[:3])
            return f"not in cited passage, in any words: {said}"
        return None

    def judge(self, answer: str, contexts: list[str]) -> Judgement:
        """Judge every sentence of `answer`; [n] refers to contexts[n-1]."""
        units = _with_block_citations(split_lines(answer))
        verdicts = [citation_verdict(t, c, len(contexts)) for t, c in units]
        todo = [(i, [contexts[n - 1] for n in units[i][1]]) for i, v in enumerate(verdicts)
                if v is None]
        self._embed([strip_markers(units[i][0]) for i, _ in todo],
                    [p for _, ps in todo for p in ps])
        for i, passages in todo:
            text, cites = units[i]
            verdicts[i] = self._segments_verdict(text, cites, contexts) or self._content_verdict(
                text, cites, passages)
        return Judgement(sentences=[v for v in verdicts if v is not None])

    def _segments_verdict(self, text: str, cites: list[int],
                          contexts: list[str]) -> SentenceVerdict | None:
        """"The CSM test has 50 questions [1], and the PMP exam has 180 questions [2]": each part
        of a sentence must be backed by the citation it carries, not by the other one."""
        parts = [(m.group(1), sorted({int(n) for n in re.findall(r"\d+", m.group(2))}))
                 for m in _SEGMENT.finditer(text)]
        parts = [(t.strip(" ,;"), c) for t, c in parts if _content_words_of(t)]
        if len(parts) < 2 or len({tuple(c) for _, c in parts}) < 2:
            return None
        self._embed([strip_markers(t) for t, _ in parts],
                    [contexts[n - 1] for _, c in parts for n in c])
        for part, own in parts:
            verdict = self._content_verdict(part, own, [contexts[n - 1] for n in own])
            if not verdict.supported:
                return verdict.model_copy(update={
                    "text": text, "citations": cites,
                    "reason": f"{verdict.reason} (in the part citing [{own[0]}])"})
        return None


def _with_block_citations(
    lines: list[tuple[str, list[int], int]],
) -> list[tuple[str, list[int]]]:
    """One marker at the end of a block cites the block: "CRISP-DM isn't a waterfall. It's
    iterative, so ... [1]" is two sentences of passage [1]. A sentence without a marker takes
    the markers of the next sentence of its line that has them; at a line's end it has none."""
    out: list[tuple[str, list[int]]] = []
    for i, (text, cites, line) in enumerate(lines):
        if not cites and is_claim(text):
            cites = next((c for _, c, k in lines[i + 1:] if k == line and c), [])
        out.append((text, cites))
    return out


def _content_words_of(text: str) -> bool:
    return bool(content_words(strip_markers(text)))


_SEGMENT = re.compile(r"(.+?)((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)")  # text, then its markers


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
