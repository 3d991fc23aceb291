"""How an extractive answer reads: one marker per block, quoted text repaired (line breaks and
split words), list items on their own lines, while every citation stays an exact span."""

from __future__ import annotations

import re
from pathlib import Path

from advisor import Advisor, Settings
from advisor.answer.extractive import (
    Candidate,
    _dangling,
    _row_name,
    _without_contained,
    announces,
    enumerates,
    is_label,
    is_pointer,
    list_lines,
    repair,
)
from advisor.types import Chunk, Unit


def test_repair_joins_words_split_at_a_line_break_and_keeps_real_hyphens() -> None:
    text = "As illus-\ntrated in Figure 5, the Core is composed of four functions:\nGOVERN, MAP"
    assert repair(text) == (
        "As illustrated in Figure 5, the Core is composed of four functions: GOVERN, MAP"
    )
    # the document writes the word with its hyphen elsewhere: it keeps it
    assert repair("a self-\nmanaged team", "Teams are self-managed.") == "a self-managed team"
    assert repair("Pre-\nSales") == "Pre- Sales"  # a capital after the break: not a split word


def test_restructuredtext_references_and_roles_read_as_their_text() -> None:
    # a PEP is plain text in reStructuredText: its link markup is not shown
    text = (
        "offer to serve by `notifying the Steering Council <Steering Council issue_>`_ of\n"
        "their intent, see the `PEP repository`_ `on GitHub <https://github.com/python/peps>`__,\n"
        "follow :pep:`12` and :rfc:`2822`, the :pep:`PEP template <12#suggested-sections>`."
    )
    assert repair(text) == (
        "offer to serve by notifying the Steering Council of their intent, see the PEP "
        "repository on GitHub, follow PEP 12 and RFC 2822, the PEP template."
    )
    # Markdown code spans and names that end in an underscore stay as written
    assert repair("a ``.rst`` file, `code` and snake_case_ names") == (
        "a ``.rst`` file, `code` and snake_case_ names"
    )


def test_a_caption_or_table_label_is_not_quoted_as_a_passage() -> None:
    # what a PDF sets on a line of its own above a table or under a figure
    assert is_label("Fixed Price Contract.") and is_label("Item No.")
    assert is_label("Figure 3: Hiring Timeline")
    # an answer of one word, a sentence, a capitalised phrase with a lower-case word: kept
    assert not is_label("Yes.") and not is_label("Not extensively.")
    assert not is_label("The PMP exam has 180 questions.")
    assert not is_label("Period of Performance: Base Period of one year")


def test_pointer_sentences_are_told_from_sentences_that_say_something() -> None:
    """A sentence that only sends the reader to another part of the document is never quoted."""
    assert is_pointer("See Appendix C: Sample Language for Government Contracts.")
    assert is_pointer("See the topic-index for the existing topics.")
    assert is_pointer("For more details, see Section 3.")
    assert is_pointer("See also Appendix A.")
    assert not is_pointer("See how AI changes the PM job: teams ship models, not features.")
    assert not is_pointer("The PMP exam has 180 questions; see the handbook for the outline.")


def test_a_footnote_marker_does_not_make_a_table_row_a_new_row() -> None:
    pay = "- Occupation: Software developers(1); Median pay: $132,270; Jobs: 1,895,500"
    schooling = "- Occupation: Software developers; Education: Bachelor's degree; Training: None"
    other = "- Occupation: Data scientists; Median pay: $108,020; Jobs: 245,900"
    assert _row_name(pay) == _row_name(schooling) == "software developers"
    assert _row_name(other) != _row_name(pay)


def test_a_hard_wrapped_list_item_stays_one_item() -> None:
    lead, items = list_lines("Options include:\n- PMP (Project\n  Management Professional)\n- CSM")
    assert lead == "Options include:"
    assert [repair(i) for i in items] == ["- PMP (Project Management Professional)", "- CSM"]


def test_hard_wrapped_text_is_quoted_whole_and_cited_exactly(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = (
        "# Risk framework\n\n"
        "## Core functions\n\n"
        "As illus-\ntrated in the framework, the Core is composed of four functions:\n"
        "GOVERN, MAP, MEASURE and MANAGE. Each function is broken\ndown into categories.\n\n"
        "Teams that adopt it:\n"
        "- map their AI systems and the\n  contexts they run in\n"
        "- measure the risks they find\n"
    )
    (corpus / "framework.md").write_text(body, encoding="utf-8")
    advisor = Advisor(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder=embedder)
    advisor.index()
    answer = advisor.ask("What functions is the Core of the framework composed of?")
    assert not answer.declined
    lines = answer.answer.splitlines()
    # the hard-wrapped paragraph is one line of whole sentences, its split word joined
    assert lines[0] == (
        "As illustrated in the framework, the Core is composed of four functions: "
        "GOVERN, MAP, MEASURE and MANAGE. Each function is broken down into categories."
    )
    # the list (quoted whole, the passage being short) has one line per item
    assert "- map their AI systems and the contexts they run in" in lines
    assert lines[-1] == "- measure the risks they find [1]"
    for c in answer.citations:
        assert body[c.start : c.end] == c.text  # the citation is the exact span
    used = [answer.citations[0].text[a:b] for a, b in answer.citations[0].used]
    assert any("illus-\ntrated" in u for u in used)  # highlighted over the whole span


def test_one_marker_per_block_and_every_block_cited(advisor: Advisor) -> None:
    answer = advisor.ask("Which certifications should I consider?")
    blocks = [b for b in answer.answer.split("\n\n") if b.strip()]
    assert blocks
    for block in blocks:
        markers = re.findall(r"\[(\d+)\]", block)
        assert len(markers) == 1 and block.rstrip().endswith(f"[{markers[0]}]"), block
    assert "Popular options include:" in answer.answer
    listed = answer.answer.split("Popular options include:")[1].split("\n\n")[0]
    items = [ln for ln in listed.splitlines() if ln.startswith("- ")]
    assert len(items) >= 3 and not any("[" in ln for ln in items[:-1])  # one marker, at the end


def _cand(chunk_id: str, hit_rank: int, score: float):
    from advisor.answer.extractive import Candidate
    from advisor.types import Chunk, Unit

    chunk = Chunk(
        id=chunk_id, doc_id="d", title="T", section="S", source="d.md", start=0, end=1, text="x"
    )
    return Candidate(hit_rank, chunk, Unit(start=0, end=1, kind="sentence"), 0, "x", score)


def test_a_passage_is_quoted_only_when_its_best_unit_scores_nearly_as_well() -> None:
    from advisor.answer.extractive import _focused_passages

    settings = Settings(passage_keep_ratio=0.9, second_opinion_ratio=0.8, max_answer_passages=3)
    ranked = [_cand("a", 2, 1.0), _cand("b", 1, 0.95), _cand("a", 2, 0.9), _cand("c", 3, 0.85)]
    ranked.append(_cand("top-retrieved", 0, 0.82))  # retrieval's first: a second opinion
    ranked.append(_cand("weak", 4, 0.5))
    assert _focused_passages(ranked, settings) == {"a", "b", "top-retrieved"}
    assert _focused_passages(ranked, settings.model_copy(update={"max_answer_passages": 1})) == {
        "a"
    }
    strict = settings.model_copy(update={"second_opinion_ratio": 0.9})
    assert _focused_passages(ranked, strict) == {"a", "b"}


def test_a_sentence_that_only_says_there_are_some_things_is_followed_by_their_names() -> None:
    lead = (
        "While it is difficult to predict which jobs might be automated, there are a number of "
        "skills that experts agreed seemed likely to remain relevant."
    )
    names = (
        "Disciplines such as project management, user-centered design, and cybersecurity "
        "threat mitigation all share a focus on customer needs."
    )
    assert announces(lead) and enumerates(names)
    assert not announces(names)  # it names them itself
    assert not enumerates("Success brings buy-in, and it brings budget.")
    assert not announces("Run one small project with Agile and learn from it.")


def _sentence(doc: str, order: int, text: str) -> Candidate:
    chunk = Chunk(id=f"{doc}:0", doc_id=doc, title=doc, section="", source=f"{doc}.md",
                  start=0, end=len(text), text=text)
    return Candidate(0, chunk, Unit(start=0, end=len(text), kind="sentence"), order, text)


def test_a_sentence_another_document_says_whole_is_quoted_once() -> None:
    short = _sentence("help", 0, "Federal jobs often require that you have experience in a "
                  "particular type of work for a certain period of time.")
    longer = _sentence("guide", 0, "Federal jobs often require that you have experience in a "
                   "particular type of work for a certain period of time, so be sure to "
                   "include the month and year that you began and ended each job.")
    other = _sentence("help", 1, "You must show how your skills meet the qualifications.")
    kept = _without_contained([short, other, longer])
    assert kept == [other, longer]
    # a short phrase inside a longer sentence is not a repeat
    phrase = _sentence("x", 0, "Be Agile now.")
    longer_phrase = _sentence("y", 0, "Be Agile now, and start small.")
    assert _without_contained([phrase, longer_phrase]) == [phrase, longer_phrase]


def test_a_later_unit_that_opens_with_a_pronoun_needs_what_came_before() -> None:
    before = _sentence("pep", 0, "The PEP editors review your pull request.")
    they = _sentence("pep", 1, "Once approved, they will assign your PEP a number.")
    best = _sentence("other", 0, "A PEP is accepted by the Steering Council.")
    assert _dangling(they, [best])  # "they" who?
    assert not _dangling(they, [best, before])  # said right after its antecedent
    assert not _dangling(_sentence("pep", 1, "It is worth asking early."), [best])  # expletive
    assert not _dangling(_sentence("pep", 1, "The editors assign a number."), [best])
