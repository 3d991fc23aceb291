"""The answer type a question's form asks for, and whether a quoted unit gives one."""

from __future__ import annotations

import pytest

from advisor.answer.answer_type import expected_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many questions are on the PMP exam?", "count"),
        ("what's the maximum number of resumes I can save in my profile?", "count"),
        ("How much does the PMP exam cost?", "money"),
        ("What is the dollar amount of the simplified acquisition threshold?", "money"),
        ("What dollar hourly rate does the template recommend for the lead?", "money"),
        ("What is the projected 2029 median annual wage for analysts?", "money"),
        ("how much of my week should I spend learning?", "share"),
        ("what exact percentage of IT staff were women in 2019?", "share"),
        ("What's the target launch date for the new site?", "date"),
        ("when is the hub scheduled to go live?", "date"),
        ("How long is the Daily Scrum supposed to last?", "duration"),
        ("what's the unemployment rate for security analysts?", "measure"),
        ("What are the page limits for the technical proposal?", "measure"),
    ],
)
def test_a_question_asking_for_a_value_has_a_type(question: str, kind: str) -> None:
    found = expected_type(question)
    assert found is not None and found.kind == kind, found


@pytest.mark.parametrize(
    "question",
    [
        "How much does certification matter for a career changer?",
        "When should I submit a PEP for review?",
        "What skills does an AI project manager need?",
        "How do I become a Scrum Master?",
    ],
)
def test_a_question_any_passage_on_its_topic_may_answer_has_none(question: str) -> None:
    assert expected_type(question) is None


@pytest.mark.parametrize(
    ("question", "gives", "lacks"),
    [
        (
            "How many days of annual leave do new employees earn?",
            "New employees earn 13 days of annual leave a year.",
            "Average time-to-hire was 106 days in government.",
        ),
        (
            "how many IT people over 60 are there for each one under 30?",
            "There are now 4.5 Federal IT professionals aged 60 or older.",
            "The IT workforce is ageing fast.",
        ),
        (
            "how many registered nurses were employed in 2019?",
            "- Title: Registered nurses; Employment, 2019: 3,096.7; Employment, 2029: 3,317.9",
            "- Title: Software developers; Employment, 2019: 1,469.2; Employment, 2029: 1,847.9",
        ),
        (
            "How much does the exam cost?",
            "The MLA-C01 exam costs USD 150.",
            "The exam has 65 questions and lasts 130 minutes.",
        ),
        (
            "what is the micro-purchase threshold dollar amount?",
            "The micro-purchase threshold is $10,000.",
            "An agile team of 4-8 people will cost around $1.5 - 2M per year.",
        ),
        (
            "What are the page limits for the technical proposal?",
            "A technical proposal of no more than four (4) pages.",
            "Technical proposals must be submitted using 12-point type.",
        ),
        (
            "What's the target launch date for the hub?",
            "The hub launches in March 2027.",
            "The hub will launch after the pilot ends.",
        ),
        (
            "How long should the abstract be?",
            "The abstract should be a short (~200 word) description.",
            "The abstract describes the technical issue being addressed.",
        ),
    ],
)
def test_a_unit_gives_the_type_only_with_a_value_of_it(
    question: str, gives: str, lacks: str
) -> None:
    wanted = expected_type(question)
    assert wanted is not None
    assert wanted.found_in([gives])
    assert not wanted.found_in([lacks])
