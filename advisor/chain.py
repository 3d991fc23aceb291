"""The advisor as a LangChain Runnable: question (+ history) -> retrieve -> answer -> verify.

`Advisor` is what apps embed. Models and the Chroma client are loaded once per `Advisor` and
shared by every call, so one instance can serve many users (calls are thread-safe).

Inside, it is a composition of named runnables (`Advisor.pipeline`):
`read_question | retrieve | generate`. Each is its own run for callbacks, tracers (LangSmith,
Langfuse) and `astream_events`: `read_question` checks the input, `retrieve` is a retriever run
whose output is the passages as `Document`s, and `generate` streams the answer chunks (a chat
model, when one is configured, runs inside it, then the grounding check).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import unicodedata
from collections.abc import AsyncIterator, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManager, CallbackManager, Callbacks
from langchain_core.embeddings import Embeddings
from langchain_core.messages import BaseMessage
from langchain_core.runnables import (
    Runnable,
    RunnableConfig,
    RunnableGenerator,
    ensure_config,
)
from pydantic import BaseModel, Field, PrivateAttr

from .config import Settings, apply_offline_env
from .embed import Embedder, make_embeddings
from .errors import InvalidQuestionError
from .index import IndexReport, Progress, build_index, unindexed_mentions
from .retrieve import AdvisorRetriever, Searcher, hit_document, is_acronym
from .store import IndexStore, open_store
from .types import Answer, Retrieval

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

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
        if isinstance(item, dict):  # {"role", "content"}, or a message's model_dump()
            role, content = item.get("role", item.get("type", "")), item.get("content", "")
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


class AdvisorInput(BaseModel):
    """What the advisor is asked: a question and, optionally, the conversation so far."""

    question: str = Field(description="The user's question, in their own words.")
    chat_history: list[tuple[str, str] | dict[str, Any] | BaseMessage] = Field(
        default_factory=list,
        description="Earlier turns, oldest first: (role, text) tuples, {'role': 'user' | "
        "'assistant', 'content': text} dicts or LangChain messages. Follow-up questions "
        "('which of those ...') are read in their light.",
    )


class ChatTurn(BaseModel):
    """One earlier turn of a conversation, as an agent's tool call writes it."""

    role: str = Field(description="'user' or 'assistant'.")
    content: str = Field(description="What was said.")


class AdvisorToolInput(BaseModel):
    """The advisor's arguments as a tool: JSON-only types, which every chat model can fill."""

    question: str = Field(description="The career question to answer from the documents.")
    chat_history: list[ChatTurn] = Field(
        default_factory=list, description="Earlier turns of the conversation, oldest first."
    )


TOOL_DESCRIPTION = (
    "Answers career questions from a curated set of documents, quoting them. Returns JSON: "
    "`answer` (text with [n] "
    "citation markers), `citations` (the quoted passages, by n) and `declined` (true when the "
    "documents hold no answer)."
)


class Turn(BaseModel):
    """One question on its way through the pipeline: checked, then searched."""

    question: str
    chat_history: list[tuple[str, str]] = Field(default_factory=list)
    about_instructions: bool = False  # asks for (or to change) the instructions: declined
    retrieval: Retrieval | None = None
    _view: Any = PrivateAttr(default=None)  # the index generation it was searched in


class _Step(Runnable[Any, Turn]):
    """A pipeline step that reports its own run to the callbacks (start, end or error), the way
    LangChain's retrievers do, without the per-call signature inspection of `RunnableLambda`:
    the whole pipeline then costs about as much as the old single runnable did."""

    run_type = "chain"
    blocking = False  # True: `ainvoke` runs `work` in a thread (it searches; models are sync)

    def __init__(self, advisor: Advisor) -> None:
        self.advisor = advisor

    @property
    def OutputType(self) -> type[Turn]:  # noqa: N802 (LangChain's name)
        return Turn

    def work(self, input: Any) -> Turn:
        raise NotImplementedError

    def _output(self, turn: Turn, run: Any) -> Any:
        return turn

    def _managers(self, config: RunnableConfig | None, manager_cls: Any) -> tuple[Any, Any]:
        config = ensure_config(config)
        manager = manager_cls.configure(
            config.get("callbacks"),
            inheritable_tags=config.get("tags"),
            inheritable_metadata=config.get("metadata"),
        )
        name = config.get("run_name") or self.get_name()
        return manager, {"name": name, "run_id": config.get("run_id")}

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Turn:
        manager, named = self._managers(config, CallbackManager)
        if self.run_type == "retriever":
            run = manager.on_retriever_start(None, input.question, **named)
            end, error = run.on_retriever_end, run.on_retriever_error
        else:
            run = manager.on_chain_start(None, input, **named)
            end, error = run.on_chain_end, run.on_chain_error
        try:
            turn = self.work(input)
        except BaseException as exc:
            error(exc)
            raise
        end(self._output(turn, run))
        return turn

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Turn:
        manager, named = self._managers(config, AsyncCallbackManager)
        if self.run_type == "retriever":
            run = await manager.on_retriever_start(None, input.question, **named)
            end, error = run.on_retriever_end, run.on_retriever_error
        else:
            run = await manager.on_chain_start(None, input, **named)
            end, error = run.on_chain_end, run.on_chain_error
        try:
            turn = await asyncio.to_thread(self.work, input) if self.blocking else self.work(input)
        except BaseException as exc:
            await error(exc)
            raise
        await end(self._output(turn, run))
        return turn


class ReadQuestionStep(_Step):
    """The `read_question` step: the checked question and history (`InvalidQuestionError`
    otherwise), and whether it asks about the instructions."""

    name = "read_question"

    @property
    def InputType(self) -> type[AdvisorInput]:  # noqa: N802
        return AdvisorInput

    def work(self, input: Any) -> Turn:
        return self.advisor._read_question(input)


class RetrieveStep(_Step):
    """The `retrieve` step: a retriever run (`on_retriever_start` / `on_retriever_end` with
    the passages as `Document`s) around the advisor's conversation-aware search, so a trace
    shows what was found exactly as a LangChain retriever would."""

    name = "retrieve"
    run_type = "retriever"
    blocking = True

    @property
    def InputType(self) -> type[Turn]:  # noqa: N802
        return Turn

    def work(self, input: Any) -> Turn:
        turn: Turn = input
        if turn.about_instructions:
            return turn
        view = self.advisor.searcher.view()
        found = turn.model_copy(
            update={"retrieval": self.advisor.retrieve(turn.question, turn.chat_history)}
        )
        found._view = view
        return found

    def _output(self, turn: Turn, run: Any) -> Any:
        # Documents are built only for someone listening (a tracer, astream_events)
        return _documents(turn) if run.handlers else []


def _documents(turn: Turn) -> list[Any]:
    return [hit_document(h) for h in turn.retrieval.hits] if turn.retrieval else []


_DONE = object()


class Advisor(Runnable[AdvisorInput | dict | str, Answer]):
    """Answers `{"question": str, "chat_history": [...]}` with a cited `Answer`.

    Supports `invoke`, `stream` (chunks that add up to the answer), `batch` and their async
    forms, `astream_events`, `as_tool()` and `as_retriever(k=...)`. The input schema is
    `AdvisorInput`; a plain string is taken as the question.

    `embeddings` may be any LangChain `Embeddings` (hosted, Ollama, a fake for tests); the index
    records which one built it. By default `ADVISOR_EMBEDDINGS` decides (the packaged model).
    """

    name = "Advisor"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        llm: Any = None,
        embeddings: Embeddings | None = None,
        embedder: Embedder | None = None,
        store: IndexStore | None = None,
    ) -> None:
        apply_offline_env()
        self.settings = settings or Settings()
        self._embeddings = embeddings
        self._embedder = embedder
        self._store = store
        self._llm = llm

    # --- the parts, built once -------------------------------------------------------------
    @cached_property
    def embedder(self) -> Embedder:
        return self._embedder or make_embeddings(self.settings, self._embeddings)

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

    def as_retriever(
        self, k: int | None = None, search_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> AdvisorRetriever:
        """The hybrid search alone, as a LangChain retriever: `k` passages per query (or
        `search_kwargs={"k": ...}`, as a vector store's retriever takes it; default
        `settings.k`). Other keyword arguments (`tags`, `metadata`) go to the retriever."""
        extra = dict(search_kwargs or {})
        unknown = set(extra) - {"k"}
        if unknown:
            raise TypeError(f"Unknown search_kwargs {sorted(unknown)}; the advisor takes 'k'.")
        chosen = k if k is not None else extra.get("k")
        return AdvisorRetriever(searcher=self.searcher, k=chosen, **kwargs)

    def as_tool(
        self,
        args_schema: type[BaseModel] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        arg_types: dict[str, type] | None = None,
    ) -> BaseTool:
        """The advisor as a tool an agent can call with `{"question": ..., "chat_history":
        [...]}`. Its result is JSON (`question`, `answer`, `declined`, `citations`: the shape
        of `advisor ask --json`); called with a tool call, the `ToolMessage` also carries the
        `Answer` as its artifact. The advisor's run nests inside the tool's in a trace.
        `arg_types` is accepted for LangChain's signature: the arguments are always these."""
        from langchain_core.tools import StructuredTool

        def reply(answer: Answer) -> tuple[str, Answer]:
            return json.dumps(answer.to_json_dict(), ensure_ascii=False), answer

        def ask(callbacks: Callbacks = None, **kwargs: Any) -> tuple[str, Answer]:
            return reply(self.invoke(_tool_payload(kwargs), {"callbacks": callbacks}))

        async def aask(callbacks: Callbacks = None, **kwargs: Any) -> tuple[str, Answer]:
            return reply(await self.ainvoke(_tool_payload(kwargs), {"callbacks": callbacks}))

        return StructuredTool.from_function(
            func=ask,
            coroutine=aask,
            name=name or "career_advisor",
            description=description or TOOL_DESCRIPTION,
            args_schema=args_schema or AdvisorToolInput,
            response_format="content_and_artifact",
        )

    def index(self, *, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        """Build or update the index from `settings.corpus_dir`."""
        return build_index(
            self.settings, self.embedder, self.store, rebuild=rebuild, progress=progress
        )

    def warm_up(self) -> None:
        """Load the models and the index now rather than on the first question."""
        self.searcher.view()
        self.invoke({"question": "What does an AI project manager do?"})

    # --- the pipeline: read_question | retrieve | generate --------------------------------
    @cached_property
    def pipeline(self) -> Runnable[Any, Answer]:
        """The named steps, composed; `invoke`, `stream` and the rest run this."""
        return (
            ReadQuestionStep(self)
            | RetrieveStep(self)
            | RunnableGenerator(self._generate, self._agenerate, name="generate")
        )

    @property
    def InputType(self) -> type[AdvisorInput]:  # noqa: N802 (LangChain's name)
        return AdvisorInput

    def get_graph(self, config: RunnableConfig | None = None) -> Any:
        """The steps as LangChain draws them (`advisor.get_graph().print_ascii()`)."""
        return self.pipeline.get_graph(config)

    @property
    def OutputType(self) -> type[Answer]:  # noqa: N802
        return Answer

    def _read_question(self, payload: Any) -> Turn:
        """The checked question and history; an `InvalidQuestionError` says what is wrong."""
        limit = self.settings.max_question_chars
        if isinstance(payload, str):
            question, history = clean_question(payload, limit), []
        elif isinstance(payload, AdvisorInput):
            question = clean_question(payload.question, limit)
            history = history_turns(payload.chat_history, limit)
        elif isinstance(payload, dict):
            question = clean_question(payload.get("question"), limit)
            history = history_turns(payload.get("chat_history"), limit)
        else:
            raise InvalidQuestionError(
                "Expected {'question': str, 'chat_history': [...]}, "
                f"got {type(payload).__name__}."
            )
        return Turn(
            question=question,
            chat_history=history,
            about_instructions=bool(_ABOUT_INSTRUCTIONS.search(question)),
        )

    def check(self, payload: Any) -> Turn:
        """Check a question without answering it (what `read_question` does): an HTTP API
        turns a bad question into a 4xx before it starts a stream."""
        return self._read_question(payload)

    def _generate(self, turns: Iterator[Turn]) -> Iterator[Answer]:
        for turn in turns:
            if turn.about_instructions or turn.retrieval is None:
                yield Answer(
                    question=turn.question,
                    answer=INSTRUCTIONS_DECLINE,
                    declined=True,
                    generator=self.generator_name,
                )
                continue
            retrieval, first = turn.retrieval, True
            for part in self.generator.generate(
                turn.question, retrieval, turn._view, self.embedder.embed, turn.chat_history
            ):
                if first:
                    retrieved = [h.chunk.doc_id for h in retrieval.hits]
                    update: dict[str, Any] = {"question": turn.question, "retrieved": retrieved}
                    # a question naming a file that could not be indexed is told so
                    if unindexed := unindexed_mentions(self.settings, turn.question):
                        update["notice"] = " ".join(filter(None, [part.notice, unindexed]))
                    part = part.model_copy(update=update)
                    first = False
                yield part

    async def _agenerate(self, turns: AsyncIterator[Turn]) -> AsyncIterator[Answer]:
        """`_generate` in a worker thread, one chunk at a time (the models are synchronous)."""
        async for turn in turns:
            iterator = self._generate(iter([turn]))
            while (part := await asyncio.to_thread(next, iterator, _DONE)) is not _DONE:
                yield part  # type: ignore[misc]

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

    # --- Runnable ----------------------------------------------------------------------------
    def _named(self, config: RunnableConfig | None) -> RunnableConfig:
        """The caller's config; the pipeline's run is called "Advisor" unless it names it."""
        named: RunnableConfig = {**(config or {})}  # type: ignore[typeddict-item]
        named.setdefault("run_name", self.get_name())
        return named

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        return self.pipeline.invoke(input, self._named(config))

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Answer]:
        yield from self.pipeline.stream(input, self._named(config))

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        return await self.pipeline.ainvoke(input, self._named(config))

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Answer]:
        async for part in self.pipeline.astream(input, self._named(config)):
            yield part

    def ask(self, question: str, chat_history: History | None = None) -> Answer:
        """Shortcut for `invoke({"question": ..., "chat_history": ...})`."""
        return self.invoke({"question": question, "chat_history": chat_history or []})


def _tool_payload(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A tool call's validated arguments as the advisor's input."""
    turns = kwargs.get("chat_history") or []
    history = [t.model_dump() if isinstance(t, ChatTurn) else t for t in turns]
    return {"question": kwargs.get("question"), "chat_history": history}
