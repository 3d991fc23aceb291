"""Word alignment, BERTScore-style: every content word of a claim must find a word of the cited
passage that means the same. A word the passage has (same stem, a folded synonym, a compound)
aligns at once; any other is compared with every passage word by MiniLM vectors of the words
themselves, so "begins" finds "starts" (0.85) while "retail" finds nothing near it in "tech,
healthcare and finance" (at most 0.49, with "industry").

Coverage counts missing words; alignment asks whether a missing word was said in other words.
A claim whose words do not align says something the passage does not: an entity swapped in
("retail and education"), a claim added ("open source and profitable"), a changed predicate
("opens" for "concludes").
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from .claims import _content, _words
from .lexicon import _NUMBER_WORDS, _STOP, _SYN, _UNITS, _stem

ALIGN_SIMILARITY = 0.6  # the same meaning: begins~starts 0.85, programmer~coding 0.65


def content_words(text: str) -> list[str]:
    """The claim's content words as written (lower case), each once, in order."""
    out: list[str] = []
    for word in (w.lower() for w in _words(text)):
        stem = _stem(word)
        # a function word's contraction is one too: "you'll", "you’ve", "they're"
        base = re.split(r"['’]", word, maxsplit=1)[0]
        if (len(stem) > 1 and not ({word, stem, base} & _STOP) and word not in _NUMBER_WORDS
                and word not in _UNITS and not word.endswith(("n't", "n’t")) and word not in out):
            out.append(word)
    return out


def unaligned(
    claim: str,
    passage: str,
    vectors: Callable[[list[str]], dict[str, np.ndarray]],
    threshold: float = ALIGN_SIMILARITY,
) -> list[tuple[str, float]]:
    """The claim's content words that no passage word matches, each with its best similarity.
    `vectors` maps words to unit vectors (the judge caches them across calls)."""
    stems = set(_content(passage))
    stems |= {a + b for a, b in zip(_content(passage), _content(passage)[1:], strict=False)}
    missing = [w for w in content_words(claim) if _SYN.get(_stem(w), _stem(w)) not in stems]
    if not missing:
        return []
    theirs = content_words(passage)
    if not theirs:
        return [(w, 0.0) for w in missing]
    table = vectors(missing + theirs)
    matrix = np.stack([table[w] for w in theirs])
    out = []
    for word in missing:
        best = float((matrix @ table[word]).max())
        if best < threshold:
            out.append((word, round(best, 2)))
    return out
