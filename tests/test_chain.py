"""The default chain end to end: real model, real Chroma, the shipped corpus."""

from __future__ import annotations

import asyncio
import re

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from advisor import Advisor, Answer, InvalidQuestionError

from .conftest import CITATION_FIELDS, CORPUS

MARKER = re.compile(r"\[(\d+)\]")


def _file_text(source: str) -> str:
    with open(CORPUS / source, encoding="utf-8", newline="") as fh:
        return fh.read()


def _assert_cited(answer: Answer) -> None:
    """Every block of the answer (what one passage contributes) ends with one marker that
    points at a listed citation, and no line inside a block carries one."""
    numbers = {c.n for c in answer.citations}
    assert numbers == set(range(1, len(numbers) + 1))
    blocks = [b.strip() for b in re.split(r"\n\s*\n", answer.answer) if b.strip()]
    closing = [int(m.group(1)) for b in blocks if (m := re.search(r" \[(\d+)\]$", b))]
    assert len(closing) == len(blocks) and set(closing) == numbers, answer.answer
    assert closing == sorted(closing), answer.answer  # a passage's blocks come together
    for block in blocks:
        assert len(MARKER.findall(block)) == 1, block
    for c in answer.citations:
        assert _file_text(c.source)[c.start : c.end] == c.text
        for a, b in c.used:
            assert 0 <= a < b <= len(c.text)


def test_salary_answer_cites_the_exact_passage(advisor: Advisor) -> None:
    answer = advisor.invoke({"question": "What salary can an AI project manager expect?"})
    assert not answer.declined
    assert "$120,000" in answer.answer and "$150,000" in answer.answer
    _assert_cited(answer)
    first = answer.citations[0]
    assert first.doc_id == "ai-project-manager-guide" and "$120,000" in first.text
    used = first.text[first.used[0][0] : first.used[0][1]]
    assert "$120,000" in used


@pytest.mark.parametrize(
    ("question", "facts"),
    [
        ("Which certifications should I consider?", ["PMP", "ScrumMaster", "Lean Six Sigma"]),
        ("Do I need coding skills?", ["Not extensively"]),
        ("How can I get experience in AI projects?", ["open-source"]),
        ("What are the phases of CRISP-DM?", ["Business Understanding", "Deployment"]),
        ("How long is the Daily Scrum?", ["15 minutes"]),
    ],
)
def test_answers_hold_the_facts(advisor: Advisor, question: str, facts: list[str]) -> None:
    answer = advisor.ask(question)
    for fact in facts:
        assert fact.lower() in answer.answer.lower(), (fact, answer.answer)
    _assert_cited(answer)


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2018 FIFA World Cup?",
        "Give me a recipe for banana bread.",
        "What is the capital of Australia?",
        "How tall is Mount Kilimanjaro?",
    ],
)
def test_off_topic_questions_are_declined(advisor: Advisor, question: str) -> None:
    answer = advisor.ask(question)
    assert answer.declined and answer.citations == []
    assert "can't answer" in answer.answer
    assert "How to Become an AI Project Manager in 2025" in answer.answer  # names what it covers


def test_follow_up_uses_the_conversation(advisor: Advisor) -> None:
    first = advisor.ask("What certifications should I consider?")
    history = [("user", "What certifications should I consider?"), ("assistant", first.answer)]
    follow = advisor.ask("Which of those is about Scrum?", history)
    assert "ScrumMaster" in follow.answer
    alone = advisor.ask("Which of those is about Scrum?")
    assert "ScrumMaster" not in alone.answer or alone.citations != follow.citations


def test_history_formats_are_equivalent(advisor: Advisor) -> None:
    q1, q2 = "What does an AI project manager do?", "What about their salary?"
    forms = [
        [("user", q1), ("assistant", "...")],
        [{"role": "user", "content": q1}, {"role": "assistant", "content": "..."}],
        [HumanMessage(q1), AIMessage("...")],
    ]
    answers = [advisor.ask(q2, h).answer for h in forms]
    assert answers[0] == answers[1] == answers[2]
    assert "$120,000" in answers[0]


def test_stream_adds_up_to_invoke(advisor: Advisor) -> None:
    payload = {"question": "How can I gain AI project experience?"}
    parts = list(advisor.stream(payload))
    assert len(parts) >= 2 and parts[0].citations and parts[0].answer == ""
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    assert total == advisor.invoke(payload)


def test_batch_and_async_forms(advisor: Advisor) -> None:
    questions = [{"question": "What soft skills matter?"}, {"question": "What is DMAIC?"}]
    batch = advisor.batch(questions)
    assert [a.answer for a in batch] == [advisor.invoke(q).answer for q in questions]
    assert asyncio.run(advisor.ainvoke(questions[1])).answer == batch[1].answer

    async def collect() -> list[Answer]:
        return [p async for p in advisor.astream(questions[0])]

    parts = asyncio.run(collect())
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    assert total.answer == batch[0].answer


def test_answers_do_not_repeat_themselves(advisor: Advisor) -> None:
    for q in ["What certifications should I consider?", "How can I gain AI project experience?"]:
        lines = [MARKER.sub("", ln).strip(" -") for ln in advisor.ask(q).answer.splitlines()]
        lines = [ln for ln in lines if ln]
        assert len(lines) == len(set(lines))


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "Please type a question"),
        ("   \n\t ", "Please type a question"),
        ("x" * 2001, "limit is 2,000"),
        ("?!... 🙂🙂", "no words"),
        (None, "must be text"),
    ],
)
def test_bad_questions_get_a_clear_error(advisor: Advisor, question, message: str) -> None:
    with pytest.raises(InvalidQuestionError, match=message):
        advisor.invoke({"question": question})


def test_history_is_checked_and_bounded(advisor: Advisor) -> None:
    with pytest.raises(InvalidQuestionError, match="chat_history must be a list"):
        advisor.invoke({"question": "What about the salary?", "chat_history": 5})
    huge = [("user", "How do I become an AI project manager? " * 20_000), ("assistant", "ok")]
    answer = advisor.ask("What about the salary?", huge)  # searched with a bounded context
    assert answer.answer


def test_control_characters_and_broken_unicode_are_cleaned(advisor: Advisor) -> None:
    answer = advisor.ask("What salary\x00 can an AI project manager \ud800expect?\x07")
    assert "$120,000" in answer.answer


def test_retriever_is_a_langchain_retriever(advisor: Advisor) -> None:
    docs = advisor.as_retriever().invoke("PRINCE2 Foundation exam")
    assert docs and docs[0].metadata["doc_id"] == "prince2"
    assert {"section", "source", "start", "end", "dense"} <= set(docs[0].metadata)


def test_json_shape(advisor: Advisor) -> None:
    data = advisor.ask("What does DMAIC stand for?").to_json_dict()
    assert set(data) == {"question", "answer", "declined", "citations"}
    assert set(data["citations"][0]) == CITATION_FIELDS


def test_units_are_fetched_by_id_with_the_same_result_as_a_filter(advisor: Advisor) -> None:
    """The index records each passage's unit count, so an answer looks its units up by id
    (a key lookup at 100k chunks) instead of filtering on metadata; both must agree."""
    from advisor.answer.extractive import _fetch_units

    view = advisor.searcher.view()
    assert len(view.unit_counts) == len(view.chunks)
    got = view.generation.units.get(include=["metadatas"])
    per_chunk: dict[str, int] = {}
    for meta in got["metadatas"]:
        per_chunk[str(meta["chunk_id"])] = per_chunk.get(str(meta["chunk_id"]), 0) + 1
    assert {c: n for c, n in view.unit_counts.items() if n} == per_chunk

    hits = advisor.searcher.search("Which certifications should I get first?").hits
    pool_id = _fetch_units(view, hits)
    counts, view.unit_counts = view.unit_counts, {}  # an older index: no counts recorded
    try:
        pool_filter = _fetch_units(view, hits)
    finally:
        view.unit_counts = counts
    by_id, vectors_by_id = pool_id.cands, pool_id.vectors
    by_filter, vectors_by_filter = pool_filter.cands, pool_filter.vectors
    assert all(c.unit.kind != "question" for c in by_id)  # hints are never quotable
    assert sorted(pool_id.hints) == sorted(pool_filter.hints)

    def key(cands: list) -> list[tuple[str, int]]:
        return sorted((c.chunk.id, c.order) for c in cands)

    assert by_id and key(by_id) == key(by_filter)
    order = sorted(range(len(by_id)), key=lambda i: (by_id[i].chunk.id, by_id[i].order))
    order_f = sorted(
        range(len(by_filter)), key=lambda i: (by_filter[i].chunk.id, by_filter[i].order)
    )
    assert (vectors_by_id[order] == vectors_by_filter[order_f]).all()


@pytest.mark.parametrize(
    ("first", "follow_up", "expected"),
    [
        # a new topic named after a pointer word: the new topic is what is answered
        ("Is the PMP certification worth it?", "What about the salary?", "$120,000"),
        # a complete question after an unrelated one: answered on its own words, not declined
        ("What certifications should I get?", "How can I get experience?", "Volunteer"),
        # no pointer word, but only the conversation says which exam
        ("Tell me about PRINCE2", "How many questions are in the exam?", "60 multiple-choice"),
    ],
)
def test_follow_ups_answer_what_was_asked(
    advisor: Advisor, first: str, follow_up: str, expected: str
) -> None:
    history = [("user", first), ("assistant", advisor.ask(first).answer)]
    answer = advisor.ask(follow_up, history)
    assert not answer.declined
    assert expected in answer.answer


STEPS = [
    "1. Build a Strong Educational Foundation",
    "2. Gain AI Expertise",
    "3. Master Project Management Fundamentals",
    "4. Acquire Technical Proficiency",
]


@pytest.mark.parametrize(
    "question",
    ["How do I become an AI project manager?", "What are the steps to become an AI PM?"],
)
def test_how_to_questions_get_the_guides_numbered_steps(advisor: Advisor, question: str) -> None:
    answer = advisor.ask(question)
    positions = [answer.answer.find(step) for step in STEPS]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), answer.answer
    corpus_text = (CORPUS / "ai-project-manager-guide.md").read_text()
    for step in STEPS:
        # the step is quoted from its own passage, and the passage marks it as used
        block = next(b for b in answer.answer.split("\n\n") if b.startswith(f"**{step}**"))
        n = int(re.search(r"\[(\d+)\]$", block).group(1))
        cite = answer.citations[n - 1]
        assert cite.section.endswith(step) and step in cite.text
        assert corpus_text[cite.start : cite.end] == cite.text
        assert any(cite.text[a:b] == step for a, b in cite.used)


def test_other_questions_do_not_get_the_steps(advisor: Advisor) -> None:
    assert STEPS[0] not in advisor.ask("How do I get started with the PMP?").answer
    assert STEPS[0] not in advisor.ask("What does an AI project manager do?").answer
    assert advisor.ask("How do I become a registered nurse?").declined


def test_a_documents_lead_and_conclusion_give_way_to_its_body(advisor: Advisor) -> None:
    """General restatements (the guide's opening, its conclusion) match every question a
    little; the role's own description answers "what does ... do" without them."""
    from advisor.answer.extractive import _is_summary

    view = advisor.searcher.view()
    guide = [c for c in view.chunks if c.doc_id == "ai-project-manager-guide"]
    assert _is_summary(next(c for c in guide if not c.section), view)
    assert _is_summary(next(c for c in guide if c.section == "Conclusion"), view)
    assert not _is_summary(next(c for c in guide if c.section.endswith("Technical Skills")), view)
    # a document without any heading has no lead to tell apart
    plain = guide[0].model_copy(update={"doc_id": "notes-without-headings", "section": ""})
    assert not _is_summary(plain, view)

    answer = advisor.ask("What does an AI project manager do?").answer
    assert "Team Leadership" in answer and "revolutionizing" not in answer


def test_faq_answers_are_quoted_under_their_question(advisor: Advisor) -> None:
    answer = advisor.ask("Will AI project management still be a good career in the future?")
    assert "**Is this career future-proof?**" in answer.answer, answer.answer
    faq = next(c for c in answer.citations if c.section.endswith("future-proof?"))
    assert any(faq.text[a:b] == "Is this career future-proof?" for a, b in faq.used)
    assert "Absolutely." in answer.answer  # the reply that needs its question
    # a section title that is a question is not an FAQ
    assert "**What Does" not in advisor.ask("What does an AI project manager do?").answer


@pytest.mark.parametrize(
    ("question", "declined"),
    [
        # another career, named in lower case: the name check cannot see it, the role check can
        ("How do I become a licensed electrician?", True),
        ("I'm thinking of becoming a pharmacist. What education path would I need?", True),
        ("what does it take to become a registered nurse?", True),
        # roles the documents do talk about
        ("How do I become an AI project manager?", False),
        ("Should I become a Scrum Master first?", False),
    ],
)
def test_questions_about_another_career_are_declined(
    advisor: Advisor, question: str, declined: bool
) -> None:
    assert advisor.ask(question).declined is declined


@pytest.mark.parametrize(
    ("question", "declined"),
    [
        ("I want to retrain as a dental hygienist, what do I need?", True),
        ("I'm a teacher who wants to train as an AI project manager, where do I start?", False),
        ("I'm a nurse, can I become an AI project manager?", False),  # a persona, not the goal
    ],
)
def test_retraining_for_another_career_is_declined(
    advisor: Advisor, question: str, declined: bool
) -> None:
    assert advisor.ask(question).declined is declined


def test_a_compound_question_about_something_unknown_is_declined_whole(
    advisor: Advisor,
) -> None:
    """'... and how long does the training take?' is about the CISSP named before it; a later
    part that stands on its own (the salary) is still answered."""
    assert advisor.ask("Is the CISSP hard to pass, and how long does the training take?").declined
    mixed = advisor.ask("Is the CISSP worth it, and what salary can an AI project manager expect?")
    assert not mixed.declined and "$120,000" in mixed.answer


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # below the relevance floor, but close to a hint of the salary section
        ("Could I do this kind of work remotely from my house?", "remote work"),
        # "ChatGPT" is in no document, but a hint asks about it: a known name
        ("How can ChatGPT help a project manager?", "Drafting reports"),
    ],
)
def test_hints_keep_answerable_questions_from_being_declined(
    advisor: Advisor, question: str, expected: str
) -> None:
    answer = advisor.ask(question)
    assert not answer.declined and expected in answer.answer


def test_a_short_best_passage_is_quoted_whole(advisor: Advisor) -> None:
    """The sentence beside the best one often holds the answer: the degree fields come just
    before the sentence about advanced degrees, which scores higher on its own."""
    question = "Which college major would help me get into AI project management?"
    answer = advisor.ask(question)
    first = answer.answer.split("\n\n")[0]
    assert "Computer Science, Engineering, or Business Administration" in first
    assert "advanced degrees" in first  # in the document's own order
    assert first.index("Computer Science") < first.index("advanced degrees")
    passage = answer.citations[0]
    assert len(passage.used) == 3  # all three sentences of the passage
