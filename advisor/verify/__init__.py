"""Grounding judge: does each answer sentence say only what the passages it cites say?

`GroundingJudge` is offline and fast (no generative model). Explicit rules (`rules.py`) catch
what overlap scores cannot see (citations, numbers and units, names, negation, added clauses,
bounds and quantifiers); word alignment (`align.py`, MiniLM vectors of single words, BERTScore
style) tells a paraphrase ("begins" for "starts") from a swapped or added fact ("retail" where
the passage says "tech"); each part of a sentence is checked against its own citation; a
semantic score, MiniLM cosine combined with stemmed word coverage, then lets faithful paraphrases
pass. `LLMJudge` asks a chat model instead and falls back to the offline judge per sentence.
`claims.py` reads answers and passages; `lexicon.py` holds the word lists the rules use.
"""

from .claims import passage_sentences, quantities, split_sentences, strip_markers
from .judge import (
    GroundingJudge,
    Judgement,
    LLMJudge,
    SentenceVerdict,
    citation_verdict,
    is_claim,
    parse_llm_verdicts,
)
from .rules import (
    check_entities,
    check_list_items,
    check_negation,
    check_numbers,
    check_reversal,
    check_swapped_name,
    coverage,
)

__all__ = [
    "GroundingJudge",
    "Judgement",
    "LLMJudge",
    "SentenceVerdict",
    "check_entities",
    "check_list_items",
    "check_negation",
    "check_numbers",
    "check_reversal",
    "check_swapped_name",
    "citation_verdict",
    "coverage",
    "is_claim",
    "parse_llm_verdicts",
    "passage_sentences",
    "quantities",
    "split_sentences",
    "strip_markers",
]
