"""The advisor as a LangChain Runnable: question (+ history) -> retrieve -> answer -> verify.

`Advisor` is what apps embed. Models and the Chroma client are loaded once per `Advisor` and
shared by every call, so one instance can serve many users (calls are thread-safe).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import unicodedata
from collections.abc import AsyncIterator, Iterator, Sequence
from functools import cached_property
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from .config import Settings, apply_offline_env
from .embed import Embedder, make_embeddings
from .errors import InvalidQuestionError
from .index import IndexReport, Progress, build_index, unindexed_mentions
from .retrieve import AdvisorRetriever, Searcher, is_acronym
from .store import IndexStore, open_store
from .types import Answer, Retrieval

_FOLLOW_UP = re.compile(
    r"\b(those|these|that|this|them|they|it|its|their|one|ones|which of|"
    r"the (?:first|second|last|other)|also|else|more)\b",
    re.I,
)
# "What about the salary?": a new topic, seen in the light of the previous question
_NEW_TOPIC = re.compile(r"^\W*(?:and\s+)?(?:what|how)\s+about\b", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ABOUT_INSTRUCTIONS = re.compile(
    r"\b(system|hidden|secret|initial|original|developer)\s+(prompt|instructions?|message|rules)\b"
    r"|\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|prompt)\b"
    r"|\b(your|the)\s+(instructions|prompt)\b|\bjailbreak\b",
    re.I,
)
INSTRUCTIONS_DECLINE = (
    "I can't share or change the instructions I work under. I answer career questions from "
    "the documents I was given; ask me about those instead."
)

History = Sequence[Any]


def clean_question(question: object, limit: int) -> str:
    """The question as text a retriever can use, or an `InvalidQuestionError` saying why not."""
    if not isinstance(question, str):
        raise InvalidQuestionError(f"The question must be text, not {type(question).__name__}.")
    text = question.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text)).strip()
    if not text:
        raise InvalidQuestionError("Please type a question.")
    if len(text) > limit:
        raise InvalidQuestionError(
            f"The question is {len(text):,} characters long; the limit is {limit:,}. "
            "Please shorten it."
        )
    if not any(ch.isalnum() for ch in text):
        raise InvalidQuestionError("The question has no words in it. Please ask in words.")
    return " ".join(text.split())


MAX_TURNS = 20  # earlier turns than these do not change an answer


def history_turns(history: History | None, limit: int | None = None) -> list[tuple[str, str]]:
    """(role, text) pairs from tuples, {"role", "content"} dicts or LangChain messages; the
    last `MAX_TURNS`, each cut to `limit` characters (a huge pasted turn must not stall search)."""
    if history is not None and not isinstance(history, (list, tuple)):
        raise InvalidQuestionError(
            f"chat_history must be a list of turns, not {type(history).__name__}."
        )
    turns: list[tuple[str, str]] = []
    for item in list(history or [])[-MAX_TURNS:]:
        if isinstance(item, dict):
            role, content = item.get("role", ""), item.get("content", "")
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            role, content = item
        else:
            role, content = getattr(item, "type", ""), getattr(item, "content", "")
        role = {"human": "user", "ai": "assistant"}.get(str(role), str(role))
        if isinstance(content, str) and content.strip():
            turns.append((role, content[:limit] if limit else content))
    return turns


_PART_BREAK = re.compile(
    r"(?:\?\s+|[,;]\s*and\s+|[,;]\s+)(?=(?:what|which|how|who|when|where|why|is|are|does|do|"
    r"can|should)\b)",
    re.I,
)


_ASKS = re.compile(
    r"(?:and\s+)?(?:what|which|how|who|when|where|why|is|are|does|do|can|should|could|will|"
    r"would)\b",
    re.I,
)


def question_parts(question: str) -> list[str]:
    """ "Which methodology does the guide name, and what are its phases?" -> two questions."""
    parts = [p.strip(" ,;") for p in _PART_BREAK.split(question)]
    if len(parts) < 2 or not all(len(p.split()) >= 3 and _ASKS.match(p) for p in parts):
        return [question]  # "If I become a PM, who will I manage?" is one question
    return parts


def _interleave(found: Sequence[Retrieval]) -> list[Any]:
    """The hits of several searches, best first from each in turn, each passage once."""
    hits, seen = [], set()
    for group in zip(*(r.hits for r in found), strict=False):
        for hit in group:
            if hit.chunk.id not in seen:
                seen.add(hit.chunk.id)
                hits.append(hit)
    return hits


def _names_the_unknown(found: Retrieval) -> bool:
    """Declined for naming an acronym or brand no document mentions (ITIL, CompTIA)."""
    return not found.answerable and any(is_acronym(t) for t in found.unknown_terms)


def previous_question(history: History | None) -> str | None:
    previous = [text for role, text in history_turns(history) if role == "user"]
    return previous[-1] if previous else None


class Advisor(Runnable[dict, Answer]):
    """Answers `{"question": str, "chat_history": [...]}` with a cited `Answer`.

    Supports `invoke`, `stream` (chunks that add up to the answer), `batch` and their async forms.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        llm: Any = None,
        embedder: Embedder | None = None,
        store: IndexStore | None = None,
    ) -> None:
        apply_offline_env()
        self.settings = settings or Settings()
        self._embedder = embedder
        self._store = store
        self._llm = llm

    # --- the parts, built once -------------------------------------------------------------
    @cached_property
    def embedder(self) -> Embedder:
        return self._embedder or make_embeddings(self.settings)

    @cached_property
    def store(self) -> IndexStore:
        return self._store or open_store(self.settings)

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(self.settings, self.embedder, self.store)

    @cached_property
    def generator(self) -> Any:
        from .answer import make_generator

        return make_generator(self.settings, self._llm, self.embedder)

    @property
    def generator_name(self) -> str:
        return str(self.generator.name)

    def as_retriever(self) -> AdvisorRetriever:
        """The hybrid search alone, as a LangChain retriever."""
        return AdvisorRetriever(searcher=self.searcher)

    def index(self, *, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        """Build or update the index from `settings.corpus_dir`."""
        return build_index(
            self.settings, self.embedder, self.store, rebuild=rebuild, progress=progress
        )

    def warm_up(self) -> None:
        """Load the models and the index now rather than on the first question."""
        self.searcher.view()
        self.invoke({"question": "What does an AI project manager do?"})

    # --- Runnable ----------------------------------------------------------------------------
    def _parse(self, payload: Any) -> tuple[str, History]:
        if isinstance(payload, str):
            return clean_question(payload, self.settings.max_question_chars), []
        if not isinstance(payload, dict):
            raise InvalidQuestionError(
                "Expected {'question': str, 'chat_history': [...]}, "
                f"got {type(payload).__name__}."
            )
        limit = self.settings.max_question_chars
        question = clean_question(payload.get("question"), limit)
        return question, history_turns(payload.get("chat_history"), limit)

    def _answer_stream(self, payload: Any) -> Iterator[Answer]:
        question, history = self._parse(payload)
        if _ABOUT_INSTRUCTIONS.search(question):
            yield Answer(
                question=question,
                answer=INSTRUCTIONS_DECLINE,
                declined=True,
                generator=self.generator_name,
            )
            return
        view = self.searcher.view()
        retrieval = self.retrieve(question, history)
        unindexed = unindexed_mentions(self.settings, question)
        first = True
        for part in self.generator.generate(
            question, retrieval, view, self.embedder.embed, history
        ):
            if first:
                retrieved = [h.chunk.doc_id for h in retrieval.hits]
                update: dict[str, Any] = {"question": question, "retrieved": retrieved}
                if unindexed:
                    update["notice"] = " ".join(filter(None, [part.notice, unindexed]))
                part = part.model_copy(update=update)
                first = False
            yield part

    def retrieve(self, question: str, history: History | None = None) -> Retrieval:
        """Search for the question. A question in two parts ("Which ..., and how long is ...?")
        is searched part by part; a follow-up is searched with the question it follows."""
        parts = question_parts(question)
        if len(parts) == 1:
            return self._retrieve_one(question, history)
        # a later part that points back ("... and how many questions are on its test?") is a
        # follow-up of the part before it
        found = [self._retrieve_one(parts[0], history)]
        for before, part in itertools.pairwise(parts):
            later = self._retrieve_one(part, [*history_turns(history), ("user", before)])
            confident = later.best_dense >= self.settings.confident_relevance
            if _names_the_unknown(found[-1]) and not confident:
                # "Is ITIL worth it, and how long is the course?": the course is ITIL's
                later = later.model_copy(update={"answerable": False})
            found.append(later)
        return Retrieval(
            query=question,
            hits=_interleave(found),
            best_dense=max(r.best_dense for r in found),
            unknown_terms=[t for r in found for t in r.unknown_terms],
            answerable=any(r.answerable for r in found),
            parts=[r for r in found if r.answerable],
        )

    def _retrieve_one(self, question: str, history: History | None) -> Retrieval:
        alone = self.searcher.search(question)
        previous = previous_question(history)
        if not previous or (alone.unknown_terms and not alone.answerable):
            return alone  # a change of subject to something the documents never mention
        joined = self.searcher.search(f"{previous} {question}")
        # Both searches go to the answer, the likelier reading first: a question that points
        # back ("which of those") leans on the conversation; one that reads as complete on its
        # own ("How can I get experience?") or names a new topic ("What about the salary?")
        # leans on its own words, and the conversation joins only when it names a new topic or
        # clearly finds closer passages ("How many questions are in the exam?").
        new_topic = bool(_NEW_TOPIC.search(question))
        if _FOLLOW_UP.search(question) and not new_topic:
            order = [joined, alone]
        elif new_topic or joined.best_dense > alone.best_dense + self.settings.follow_up_margin:
            order = [alone, joined]
        else:
            return alone
        return joined.model_copy(
            update={
                "question": question,
                "hits": _interleave(order),
                "answerable": joined.answerable or alone.answerable,
            }
        )

    def _transform(self, inputs: Iterator[Any]) -> Iterator[Answer]:
        for payload in inputs:
            yield from self._answer_stream(payload)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        total: Answer | None = None
        for part in self.stream(input, config, **kwargs):
            total = part if total is None else total + part
        assert total is not None
        return total

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Answer]:
        yield from self._transform_stream_with_config(iter([input]), self._transform, config)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        return await asyncio.to_thread(self.invoke, input, config)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Answer]:
        iterator = iter(self.stream(input, config))
        done = object()
        while (part := await asyncio.to_thread(next, iterator, done)) is not done:
            yield part  # type: ignore[misc]

    def ask(self, question: str, chat_history: History | None = None) -> Answer:
        """Shortcut for `invoke({"question": ..., "chat_history": ...})`."""
        return self.invoke({"question": question, "chat_history": chat_history or []})
