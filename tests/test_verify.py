"""The grounding judge with the real embedding model: each rule on a case it must catch, faithful
paraphrases it must let through, and its accuracy on the labelled judge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from advisor.config import Settings
from advisor.embed import Embedder
from advisor.verify import (
    GroundingJudge,
    Judgement,
    LLMJudge,
    check_numbers,
    parse_llm_verdicts,
    split_sentences,
    strip_markers,
)
from advisor.verify.rules import check_negation, check_number_owner

CASES = Path(__file__).resolve().parent.parent / "evals" / "datasets" / "judge_cases.jsonl"

SALARY = (
    "AI Project Managers are in high demand, with salaries averaging $120,000–$150,000 annually "
    "in 2025. The tech industry, healthcare, and finance sectors offer the most opportunities."
)
CERTS = (
    "Earning certifications demonstrates your expertise and commitment to the role. Popular "
    "options include: PMP (Project Management Professional), Certified ScrumMaster (CSM), Lean "
    "Six Sigma, Google Cloud AI Certification, AWS Certified Machine Learning – Specialty."
)
DATA = (
    "AI projects come with unique hurdles. Data Issues: Incomplete or biased datasets can derail "
    "projects. Ethical Concerns: Navigating the ethical implications of AI implementation."
)
TOOLS = (
    "Familiarize yourself with tools like TensorFlow, PyTorch, and Azure ML. Enroll in online "
    "courses or boot camps to build practical AI skills."
)
SCRUM = (
    "The Scrum Guide 2020 sets the following maximum durations for the Scrum events:\n"
    "- Sprint Planning lasts at most 8 hours for a one-month Sprint.\n"
    "- The Daily Scrum lasts 15 minutes.\n"
    "- The Sprint Review lasts at most 4 hours."
)
TEAM = (
    "A Scrum team typically has 10 or fewer people, according to the Scrum Guide 2020. A Scrum "
    "team has exactly one Product Owner and exactly one Scrum Master, while the number of "
    "Developers can vary."
)
DS = (
    "Data Scientists (15-2051): reported median pay $112,590 in May 2024, 245,900 jobs in 2024, "
    "growth of 34% (about 82,500 jobs) over 2024-34, which places data scientists among the "
    "fastest-growing occupations, and about 23,400 openings a year."
)
NIST = (
    "The NIST AI Risk Management Framework (AI RMF) is voluntary, so organisations choose whether "
    "to adopt it. GOVERN is the cross-cutting function of the NIST AI RMF, which means GOVERN "
    "applies across the other three functions rather than being one step in a sequence. The "
    "other three functions are MAP, MEASURE and MANAGE."
)
PMP = (
    "The PMP certification asks for years of experience leading projects, so a career changer "
    "usually earns PMP after building a project track record rather than at the very start."
)
INDUSTRIES = "Tech, healthcare, finance, and retail are among the top industries hiring AI PMs."
BLS = (
    'The US Bureau of Labor Statistics (BLS) has no occupation called "AI project manager". BLS '
    'places IT project managers under occupation code 15-1299, "computer occupations, all other".'
)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(Settings())


@pytest.fixture(scope="module")
def judge(embedder: Embedder) -> GroundingJudge:
    return GroundingJudge(embedder)


def verdict(judge: GroundingJudge, answer: str, contexts: list[str]):
    result = judge.judge(answer, contexts)
    assert len(result.sentences) == 1, result
    return result.sentences[0]


# --- splitting ---------------------------------------------------------------------------------


def test_split_sentences_list_lines_and_lead_in() -> None:
    answer = (
        "Popular options include:\n- PMP (Project Management Professional) [1]\n"
        "* Certified ScrumMaster (CSM) [1, 2]\n1. Lean Six Sigma [2][3]"
    )
    assert split_sentences(answer) == [
        ("Popular options include:", []),
        ("PMP (Project Management Professional) [1]", [1]),
        ("Certified ScrumMaster (CSM) [1, 2]", [1, 2]),
        ("Lean Six Sigma [2][3]", [2, 3]),
    ]


def test_split_sentences_ignores_bold() -> None:
    """Markdown emphasis is formatting: "**1. Gain AI Expertise** [2]" is one cited claim."""
    answer = "**1. Gain AI Expertise** [2]\n\nThe **PMP** exam has 180 questions. [1]"
    assert split_sentences(answer) == [
        ("Gain AI Expertise [2]", [2]),
        ("The PMP exam has 180 questions. [1]", [1]),
    ]


def test_split_sentences_marker_after_sentence_end() -> None:
    answer = "Salaries average $120,000 in 2025. [1] The PMP exam has 180 questions [2]. Done here."
    assert split_sentences(answer) == [
        ("Salaries average $120,000 in 2025. [1]", [1]),
        ("The PMP exam has 180 questions [2].", [2]),
        ("Done here.", []),
    ]


def test_empty_answer_is_not_grounded(judge: GroundingJudge) -> None:
    assert judge.judge("", [SALARY]).grounded is False
    assert Judgement(sentences=[]).grounded is False


# --- faithful sentences pass -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "contexts"),
    [
        ("Incomplete or biased datasets can derail projects [1].", [DATA]),
        ("AI project managers earn between $120,000 and $150,000 a year on average in 2025 [1].",
         [SALARY]),
        ("Popular certifications include the Project Management Professional credential, the "
         "Certified ScrumMaster and Lean Six Sigma [1].", [CERTS]),
        ("Popular certifications include PMP, CSM and Lean Six Sigma [1].", [CERTS]),
        ("Datasets that are biased or incomplete can derail an AI project [1].", [DATA]),
        ("You should get familiar with PyTorch, TensorFlow and Azure ML, and online courses or "
         "bootcamps can build hands-on AI skills [1].", [TOOLS]),
        ("The Daily Scrum takes 15 minutes, and the Sprint Review at most four hours [1].",
         [SCRUM]),
        ("Sprint Planning for a one-month Sprint lasts no more than 480 minutes [1].", [SCRUM]),
        ("A Scrum team usually has no more than 10 people [1].", [TEAM]),
        ("Data scientist jobs are projected to grow 34% over 2024-2034 [1].", [DS]),
        ("Data scientists earned a median of $112,590 in May 2024 [1].", [DS]),
        ("The BLS does not have an occupation called AI project manager [1].", [BLS]),
        ("Career changers usually earn the PMP after building a track record, not right at the "
         "start [1].", [PMP]),
        ("Organisations may choose whether to adopt the NIST AI RMF [1].", [NIST]),
    ],
)
def test_faithful_sentences_are_supported(
    judge: GroundingJudge, answer: str, contexts: list[str]
) -> None:
    result = judge.judge(answer, contexts)
    assert result.grounded, [(s.text, s.reason, s.score) for s in result.sentences]
    assert all(s.reason == "supported" and 0.5 <= s.score <= 1 for s in result.sentences)


def test_lead_in_and_decline_need_no_citation(judge: GroundingJudge) -> None:
    answer = "Popular options include:\n- PMP (Project Management Professional) [1]\n- CSM [1]"
    assert judge.judge(answer, [CERTS]).grounded
    cited = "Popular options include: [1]\n- PMP (Project Management Professional) [1]"
    assert judge.judge(cited, [CERTS]).grounded
    assert not judge.judge("CRISP-DM has seven phases:\n- Modeling [1]", [CERTS]).grounded
    decline = "I'm sorry, I can't answer that from the documents I have, and I'd rather not guess."
    assert judge.judge(decline, [SALARY]).sentences[0].supported


# --- each rule catches its kind of error -------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "contexts", "reason"),
    [
        ("AI project managers earn $130,000–$150,000 annually in 2025 [1].", [SALARY],
         "number 130,000"),
        ("Data scientist jobs are projected to grow 43% over 2024-34 [1].", [DS], "number 43%"),
        ("CRISP-DM has five phases [1].", ["CRISP-DM, published in 1999, has six phases."],
         "number five"),
        ("DMAIC has six steps [1].", ["Lean Six Sigma projects follow the five DMAIC steps."],
         "number six"),
        ("AI project managers average $120,000–$150,000 per month in 2025 [1].", [SALARY],
         "period differs"),
        ("Data scientists earn a median of $112,590 per month [1].", [DS], "period differs"),
        ("The Daily Scrum lasts 15 hours [1].", [SCRUM], "unit differs"),
        ("Familiarize yourself with tools like Kubernetes, PyTorch, and Azure ML [1].", [TOOLS],
         "'Kubernetes'"),
        ("Popular options include PMP, CISSP and Lean Six Sigma [1].", [CERTS], "'CISSP'"),
        ("Incomplete or biased datasets never affect AI projects [1].", [DATA], "negation"),
        ("The BLS has an occupation called AI project manager [1].", [BLS], "negation"),
        ("A Scrum team typically has 10 or more people [1].", [TEAM], "reversed"),
        ("The Sprint Review lasts at least 4 hours [1].", [SCRUM], "reversed"),
        ("Data scientists are among the slowest-growing occupations [1].", [DS], "reversed"),
        ("Familiarize yourself with TensorFlow, PyTorch, and Azure ML, which are all free and "
         "open source [1].", [TOOLS], "unsupported clause"),
        ("Data scientists had a median pay of $112,590 in May 2024, and most of them work "
         "remotely from home [1].", [DS], "unsupported clause"),
        ("Soft skills such as negotiation and conflict resolution matter most [1].", [SALARY],
         ""),
        ("Tech, healthcare, finance, and manufacturing are among the top industries [1].",
         [INDUSTRIES], "list item 'manufacturing'"),
        ("MAP is the cross-cutting function of the NIST AI RMF [1].", [NIST],
         "'MAP' where cited passage says 'GOVERN'"),
        ("Organisations are required to adopt the NIST AI RMF [1].", [NIST], "reversed"),
        ("Career changers should take the PMP exam at the very start [1].", [PMP], "negation"),
        ("Google Cloud certifications are valid for 2 years, replacing older exam credits [1].",
         ["Google Cloud professional certifications are valid for 2 years."],
         "unsupported clause"),
    ],
)
def test_unsupported_sentences_are_flagged(
    judge: GroundingJudge, answer: str, contexts: list[str], reason: str
) -> None:
    v = verdict(judge, answer, contexts)
    assert not v.supported and v.score < 0.5
    assert reason in v.reason


def test_out_of_range_citation(judge: GroundingJudge) -> None:
    result = judge.judge("Tech and finance offer the most opportunities [3].", [SALARY, CERTS])
    assert not result.grounded
    assert result.sentences[0].reason == "cites [3] but only 2 sources"
    assert verdict(judge, "Demand is high [0].", [SALARY]).reason.startswith("cites [0]")


def test_missing_citation(judge: GroundingJudge) -> None:
    result = judge.judge(
        "Familiarize yourself with TensorFlow, PyTorch and Azure ML [1]. Online courses or boot "
        "camps can build practical AI skills.",
        [TOOLS],
    )
    assert [s.supported for s in result.sentences] == [True, False]
    assert result.sentences[1].reason == "no citation"


def test_units_convert_and_numbers_normalize() -> None:
    passage = "The exam lasts 2 hours, costs USD 200, and the passing score is 720 out of 1000."
    assert check_numbers("It takes 120 minutes and costs $200 [1].", passage) is None
    assert check_numbers("You need 720 out of 1,000 and two hours [1].", passage) is None
    assert "unit differs" in (check_numbers("It lasts 2 years [1].", passage) or "")
    assert check_numbers("Growth runs 2024 to 2034 [1].", "growth over 2024-34") is None


def test_a_number_the_passage_gives_to_something_else_is_caught() -> None:
    passage = (
        "The exam has four domains:\n- Data preparation: 28% of the exam.\n"
        "- Model development: 26% of the exam.\n- Monitoring and security: 24% of the exam."
    )
    swapped = "Data preparation weighs 28%, with model development next at 24% [1]."
    assert "model" in (check_number_owner(swapped, passage) or "")
    right = "Data preparation weighs 28%, with model development next at 26% [1]."
    assert check_number_owner(right, passage) is None
    # a bare count is not judged this way: "four" is said of many things
    assert check_number_owner("The exam's four domains include model development [1].",
                              passage) is None


def test_one_marker_at_the_end_of_a_block_cites_the_block(judge: GroundingJudge) -> None:
    passage = (
        "CRISP-DM is iterative rather than a waterfall, so a CRISP-DM project can return to an "
        "earlier phase when later work shows that the goal or the data needs another look."
    )
    block = (
        "CRISP-DM is not a waterfall. It is iterative, so a project can return to an earlier "
        "phase [1]."
    )
    assert judge.judge(block, [passage]).grounded
    # the block's passage must back every sentence of it
    added = (
        "CRISP-DM was invented by IBM in 1996. It is iterative, so it can return to a phase [1]."
    )
    assert not judge.judge(added, [passage]).grounded
    # a sentence after the last marker of its line is uncited
    after = (
        "It is iterative, so a project can return to an earlier phase [1]. It is not a waterfall."
    )
    verdicts = judge.judge(after, [passage]).sentences
    assert verdicts[-1].reason == "no citation"


def test_a_lead_in_inside_a_sentence_states_nothing(judge: GroundingJudge) -> None:
    passage = (
        "While the AI RMF can be used to prioritize risk, it does not prescribe risk tolerance."
    )
    said = "One thing to know going in: the AI RMF does not prescribe risk tolerance [1]."
    assert judge.judge(said, [passage]).grounded
    assert not judge.judge("One thing to know: the AI RMF prescribes risk tolerance [1].",
                           [passage]).grounded


def test_a_contraction_of_a_function_word_is_a_function_word() -> None:
    from advisor.verify.align import content_words

    words = content_words("You'll pass if you’ve studied the manual")
    assert words == ["pass", "studied", "manual"]


def test_a_reversal_in_a_short_clause_is_caught(judge: GroundingJudge) -> None:
    passage = (
        "CRISP-DM has a separate Evaluation phase between Modeling and Deployment, while TDSP "
        "does not name evaluation as a stage. TDSP ends with a customer acceptance stage after "
        "deployment, which CRISP-DM's six phases do not include."
    )
    wrong = "TDSP has a customer acceptance stage, which comes before deployment [1]."
    assert not judge.judge(wrong, [passage]).grounded
    right = "TDSP has a customer acceptance stage, which comes after deployment [1]."
    assert judge.judge(right, [passage]).grounded


def test_exactly_for_a_bound_is_a_quantifier_change(judge: GroundingJudge) -> None:
    passage = "The PMP certification requires at least 36 months of experience leading projects."
    exact = "The PMP requires exactly 36 months of experience leading projects [1]."
    assert "exactly" in judge.judge(exact, [passage]).sentences[0].reason
    plain = "The exam has exactly 180 questions [1]."  # no bound in the passage: a plain figure
    assert judge.judge(plain, ["The PMP exam has 180 questions."]).grounded


# --- the labelled cases ------------------------------------------------------------------------


def test_accuracy_on_labelled_cases(judge: GroundingJudge) -> None:
    if not CASES.is_file():
        pytest.skip("no judge_cases.jsonl")
    rows = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    right = sum(judge.judge(r["answer"], r["contexts"]).grounded == r["grounded"] for r in rows)
    assert len(rows) >= 30
    assert right / len(rows) >= 0.85, f"{right}/{len(rows)}"


@pytest.mark.parametrize(
    ("name", "minimum"),
    [
        ("judge_holdout", 0.81),
        ("judge_holdout2", 0.86),
        ("judge_holdout3", 0.70),
        ("judge_holdout4", 0.775),
        ("judge_holdout5", 0.825),
        ("judge_holdout6", 0.90),
        ("judge_holdout7", 0.65),
        ("judge_holdout8", 0.75),
        ("judge_holdout9", 0.90),
        ("judge_holdout10", 0.775),
    ],
)
def test_accuracy_on_held_out_labelled_cases(judge: GroundingJudge, name: str, minimum: float):
    # each set was blind for its first run (evals/README.md); since then a regression guard
    path = CASES.with_name(f"{name}.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    right = sum(judge.judge(r["answer"], r["contexts"]).grounded == r["grounded"] for r in rows)
    assert right / len(rows) >= minimum, f"{right}/{len(rows)}"


@pytest.mark.parametrize(
    ("claim", "passage"),
    [
        # the passage's negation is on another word of the claim's negated scope
        (
            "It can't be compared directly with the BLS figures [1].",
            "The BLS figures are medians, so the two numbers are not directly comparable.",
        ),
        # "rather than" negates, and the name in every piece does not say which piece answers
        (
            "CRISP-DM isn't a one-way waterfall [1].",
            "CRISP-DM is iterative rather than a waterfall, so a CRISP-DM project can return "
            "to an earlier phase.",
        ),
        # an elliptical "Not extensively" answers the question before it
        (
            "You won't need heavy programming ability to work as an AI Project Manager [1].",
            "Do I need coding skills to become an AI Project Manager? Not extensively, but a basic "
            "understanding of AI tools and algorithms is essential.",
        ),
    ],
)
def test_a_negation_said_another_way_is_no_contradiction(claim: str, passage: str) -> None:
    assert check_negation(strip_markers(claim), passage) is None


def test_quantifiers_said_another_way_are_no_change() -> None:
    from advisor.verify.rules import check_quantifier

    passage = "Google Cloud recommends 3+ years of industry experience."
    assert check_quantifier("Google suggests at least 3 years in industry", passage) is None
    # a wrong number is the number check's business, not the quantifier's
    assert check_quantifier("Google suggests at least 5 years in industry", passage) is None
    free = "Reading the framework can be done free of charge."
    assert check_quantifier("You don't have to pay any fee to read it", free) is None
    assert check_quantifier("You always read it free of charge", free)


def test_a_clause_after_a_comma_and_is_not_a_list_member() -> None:
    """", and they create ..." starts a clause; its words are not a member to find."""
    from advisor.verify.rules import check_list_items

    tasks = (
        "Core task: Perform risk assessments to develop response strategies. Core task: Develop "
        "and manage work breakdown structure (WBS) of information technology projects."
    )
    claim = (
        "IT project managers carry out risk assessments in order to build response strategies, "
        "and they create and maintain the work breakdown structure for their projects"
    )
    assert check_list_items(claim, tasks) is None
    listed = "It covers risk assessments, response strategies, and hiring"
    assert check_list_items(listed, tasks) == "list item 'hiring' not in cited passage"


def test_a_domain_name_is_one_name() -> None:
    """"Scrum.org" is not "Scrum" plus "org": it names another body than Scrum Alliance."""
    from advisor.verify.rules import check_entities

    alliance = "The Certified ScrumMaster (CSM) credential is issued by Scrum Alliance."
    assert check_entities("The CSM is issued by Scrum.org", alliance) == (
        "'Scrum.org' not in cited passage"
    )
    assert check_entities("The CSM is issued by Scrum Alliance", alliance) is None
    linked = "Scrum Alliance (www.scrumalliance.org) issues the CSM."
    assert check_entities("The CSM comes from scrumalliance.org", linked) is None


def test_a_name_the_sentence_says_elsewhere_is_not_swapped() -> None:
    from advisor.verify.rules import check_swapped_name

    belts = (
        "Lean Six Sigma certification levels are called belts. The Lean Six Sigma belt levels, "
        "listed from the entry level upward, are:\n- White Belt\n- Yellow Belt\n- Green Belt"
    )
    clause = "people are certified at belt levels that run from White Belt at the entry level up"
    assert check_swapped_name(clause, belts) == "'White' where cited passage says 'Sigma'"
    sentence = f"Lean Six Sigma projects follow DMAIC, and {clause}"
    assert check_swapped_name(clause, belts, sentence) is None
    govern = "GOVERN is a cross-cutting function. MAP establishes the context."
    assert check_swapped_name("MAP is a cross-cutting function", govern, "") == (
        "'MAP' where cited passage says 'GOVERN'"
    )


def test_an_enumeration_starts_at_a_word_and_lists_things() -> None:
    """Not inside "which"; and "who does what, when and how" lists clauses, not facts."""
    from advisor.verify.rules import check_list_items

    passage = "They internally decide who does what, when, and how."
    claim = "They settle internally who does which piece of work, when and in what way"
    assert check_list_items(claim, passage) is None
    assert check_list_items("They decide pay, hiring and budgets", passage)


def test_bounds_and_modality_said_another_way() -> None:
    from advisor.verify.rules import check_quantifier, check_reversal

    review = "The Sprint Review is timeboxed to a maximum of four hours for a one-month Sprint."
    # "a maximum of" says "at most"; "at least" is still another bound
    assert check_quantifier("The Sprint Review can take at most four hours", review) is None
    assert check_quantifier("The Sprint Review takes at least four hours", review)
    done = "If the Definition of Done is a standard of the organization, all teams must follow it."
    assert check_quantifier("Scrum Teams may choose to follow it as a baseline", done)
    assert check_quantifier("Every Scrum Team has to follow it", done) is None
    goal = "The Sprint Goal must be finalized prior to the end of Sprint Planning."
    claim = "The Sprint Goal can be finalized after Sprint Planning has ended"
    assert check_reversal(claim, goal, goal)
    assert check_reversal("It is finalized before Sprint Planning ends", goal, goal) is None
    # a clause joining two list items is closest to the list's lead-in, which has no bound:
    # the bound is looked for beside its own number in the whole passage
    joined = "Sprint Planning lasts at most 8 hours, and the Daily Scrum lasts 15 minutes"
    lead = SCRUM.splitlines()[0]
    assert check_quantifier(joined, lead, SCRUM) is None
    assert check_quantifier(joined.replace("at most 8", "at least 8"), lead, SCRUM)
    assert check_quantifier(joined.replace("at most 8", "at most 15"), lead, SCRUM)


def test_who_says_it_is_not_part_of_the_claim(judge: GroundingJudge) -> None:
    passage = "Core task: Perform risk assessments to develop response strategies."
    claim = "According to O*NET, IT project managers perform risk assessments [1]."
    assert judge.judge(claim, [passage]).grounded
    # a claim added after ", with" is judged as a clause of its own
    industries = "Tech, healthcare, finance, and retail are among the top industries hiring."
    added = "Tech, healthcare, finance and retail hire the most, with finance paying the highest "
    assert not judge.judge(added + "salaries [1].", [industries]).grounded


def test_a_negation_the_passage_lacks_is_still_a_contradiction() -> None:
    claim = "The Sprint Retrospective does not conclude the Sprint."
    assert check_negation(claim, "The Sprint Retrospective concludes the Sprint.")


# --- the LLM judge (a scripted chat model; the offline fallback uses the real embedder) --------


def test_llm_judge_uses_model_verdicts_and_offline_rules(judge: GroundingJudge) -> None:
    reply = 'Sure!\n```json\n[{"i": 1, "supported": "no", "reason": "not in source"}]\n```'
    llm = LLMJudge(FakeListChatModel(responses=[reply]), fallback=judge)
    result = llm.judge("Incomplete datasets can derail projects [1]. Demand is high [4].", [DATA])
    assert [s.supported for s in result.sentences] == [False, False]
    assert result.sentences[0].reason == "llm: not in source"
    assert result.sentences[1].reason.startswith("cites [4]")  # never sent to the model


def test_llm_judge_falls_back_on_unusable_output(judge: GroundingJudge) -> None:
    llm = LLMJudge(FakeListChatModel(responses=["I think it is mostly fine."]), fallback=judge)
    result = llm.judge("Incomplete or biased datasets never affect AI projects [1].", [DATA])
    v = result.sentences[0]
    assert not v.supported and "negation" in v.reason and "offline" in v.reason


def test_parse_llm_verdicts_is_lenient() -> None:
    reply = 'See [1]. {"sentences": [{"supported": true}, {"grounded": "false", "reason": "x"}]}'
    assert parse_llm_verdicts(reply, [1, 3]) == {
        1: {"supported": True, "reason": "supported"},
        3: {"supported": False, "reason": "x"},
    }
    assert parse_llm_verdicts("no json here", [1]) == {}


def test_a_number_word_opening_a_name_the_passage_writes_is_not_a_number() -> None:
    passage = "The Six Sigma half of Lean Six Sigma originated at Motorola."
    assert check_numbers("Its roots: Six Sigma came from Motorola [1].", passage) is None
    assert check_numbers("Its roots: Six Parts came from Motorola [1].", passage)
