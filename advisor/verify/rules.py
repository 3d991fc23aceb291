"""The explicit grounding rules: each returns why a claim is not supported by a passage, or
None. They catch what similarity scores cannot see: numbers and units, names, negation,
reversed meanings, swapped list members and names."""

from __future__ import annotations

import re

from .claims import (
    Quantity,
    _bounds,
    _content,
    _show,
    _tokens,
    _words,
    passage_sentences,
    quantities,
    strip_markers,
)
from .lexicon import (
    _ALIASES,
    _ANTI,
    _ENUMERATION,
    _NEG_PHRASES,
    _NEGATIONS,
    _NUMBER_WORDS,
    _PIECES,
    _SCOPE_ENDS,
    _STOP,
    _STRONG,
    _SYN,
    _stem,
)


def check_numbers(claim: str, passage: str) -> str | None:
    """Numbers are where fluent answers go wrong and embeddings cannot tell: every number must be
    in the passage, with the same unit (2 hours = 120 minutes) and the same period."""
    found = quantities(passage, strict=False)
    for q in quantities(_without_shared_names(strip_markers(claim), passage)):
        same = [p for p in found if abs(p.value - q.value) < 1e-6 * max(1.0, q.value)]
        if q.dim:
            conv = [p for p in found
                    if p.dim == q.dim and abs(p.scaled - q.scaled) < 1e-6 * max(1.0, q.scaled)]
            if not conv and same and not any(p.dim is None and q.dim != "%" for p in same):
                return f"unit differs: {_show(q)}, cited passage has {_show(same[0])}"
            same = conv or same
        if not same:
            return f"number {q.raw.lstrip('$€£')} not in cited passage"
        rates = {p.rate for p in same}  # a pay figure with no period is taken to be yearly
        if q.rate and q.rate not in rates and (rates - {None} or q.rate != "year"):
            said = next((f"per {r}" for r in rates if r), "no period")
            return f"period differs: {q.raw} per {q.rate}, cited passage says {said}"
    return None


def check_number_owner(claim: str, passage: str) -> str | None:
    """A number the passage has, said of something else: "model development next at 24%"
    where the passage gives "Model development: 26%" and the 24% to "Monitoring, maintenance
    and security". The words before a number in its piece of the claim (back to the number
    before it) name what it is about; when a passage sentence with another number of that
    unit says those words and no sentence with the claimed number does, the number belongs
    to something else."""
    sentences = [
        (s, quantities(s, strict=False), set(_content(s))) for s in passage_sentences(passage)
    ]
    for piece in _PIECES.split(strip_markers(claim)):
        if not piece or not piece.strip():
            continue
        rest = piece
        for q in quantities(piece):
            # what the number is said of: the words before it, back to the number before it
            before, _, rest = rest.partition(q.raw)
            about = set(_content(before))
            if q.dim is None:
                continue  # a bare count ("four core functions") is too common to tell
            holders = [words for _, qs, words in sentences if any(_same(p, q) for p in qs)]
            if not holders:
                continue  # not in the passage at all: check_numbers says so
            said = set().union(*holders)
            for _, qs, words in sentences:
                others = [p for p in qs if p.dim == q.dim and not _same(p, q)]
                if others and (about & words) - said:
                    return (f"{_show(q)} is not what the cited passage gives for "
                            f"'{', '.join(sorted((about & words) - said))}' ({_show(others[0])})")
    return None


def _same(p: Quantity, q: Quantity) -> bool:
    return abs(p.value - q.value) < 1e-6 * max(1.0, q.value)


_CAPITAL_PAIR = re.compile(r"\b([A-Z][a-z]+) ([A-Z][\w-]*)")


def _without_shared_names(claim: str, passage: str) -> str:
    """A capitalised number word that opens a name the passage also writes ("Six Sigma" after a
    colon, where a sentence could start) is a name, not a number."""
    for m in _CAPITAL_PAIR.finditer(claim):
        if m.group(1).lower() in _NUMBER_WORDS and m.group(0) in passage:
            claim = claim.replace(m.group(0), f"N {m.group(2)}")
    return claim


def _initials_in(acronym: str, words: list[str]) -> bool:
    """`words` hold a run whose initials spell `acronym` ("Risk Management Framework" -> RMF)."""
    parts = [p for w in words for p in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", w)]
    letters = [(p[0].lower(), p.lower() in {"of", "and", "the", "for"}) for p in parts]
    target = acronym.lower()
    for start in range(len(letters)):
        i, k = start, 0
        while i < len(letters) and k < len(target):
            if letters[i][0] == target[k] and (k or not letters[i][1]):
                k += 1
            elif not (k and letters[i][1]):  # small words may sit inside, not lead
                break
            i += 1
        if k == len(target):
            return True
    return False


def _names(text: str) -> list[tuple[bool, str, str]]:
    """Names (acronyms, capitalised words not opening the sentence, words with digits), each with
    whether it opens the sentence and the initials of the capitalised run it is part of."""
    toks = _tokens(text)
    words = [(k, t.text) for k, t in enumerate(toks) if t.kind == "word"]
    runs: list[list[str]] = []  # capitalised runs: "Certified ScrumMaster" may be "CSM" elsewhere
    prev = -2
    for k, w in words:
        if w[0].isupper():
            runs[-1].append(w) if runs and k == prev + 1 else runs.append([w])
            prev = k
    initials = {w: "".join(re.findall("[A-Z]", "".join(r))).lower() for r in runs for w in r}
    out = []
    for i, (k, w) in enumerate(words):
        upper, start = sum(c.isupper() for c in w), i == 0 or toks[k - 1].text == ":"
        if (upper >= 2 or any(c.isdigit() for c in w) or (upper and not start)) and not (
                w.lower() in _STOP or w.lower() in _NUMBER_WORDS):
            out.append((start, w, initials.get(w, "")))
    return out


def _name_in(name: str, initials: str, text: str) -> bool:
    """`name` is in `text`: as a word, a plural, an acronym spelt out, or spelt out as an acronym
    there ("Certified ScrumMaster" for "CSM")."""
    if "." in name:  # a domain name: inside a web address too ("www.scrum.org/...")
        return name.lower() in text.lower()
    words = _words(text)
    lower = {w.lower() for w in words}
    base = name[:-1] if name.endswith("s") and name[:-1].isupper() else name  # "PDUs"
    return bool({name.lower(), base.lower()} & lower or _stem(name) in {_stem(w) for w in words}
                or (base.isupper() and _initials_in(base, words))
                or (len(initials) > 1 and initials in lower)
                or any(a in text.lower() for a in _ALIASES.get(name.lower(), ())))


def check_entities(claim: str, passage: str) -> str | None:
    """A named tool, certification or body the passage never mentions is an invented fact,
    however similar the sentence. Acronyms and their expansions count as the same name."""
    missing = [(start, w) for start, w, i in _names(claim) if not _name_in(w, i, passage)]
    if not missing:
        return None
    return f"'{next((w for start, w in missing if not start), missing[0][1])}' not in cited passage"


def check_swapped_name(clause: str, passage: str, sentence: str = "") -> str | None:
    """"MAP is the cross-cutting function" where the source says "GOVERN is ...": every name is
    somewhere in the passage, but the passage piece the claim piece comes from (the one piece
    sharing most words, at least two) has another name of the same kind in its place. A name
    the claim's `sentence` says elsewhere is not replaced ("Lean Six Sigma projects ..., and
    people are certified at belts from White Belt up" does not swap "Sigma" for "White")."""
    split = re.compile(_PIECES.pattern + r"|\s(?:and|or)\s")  # list members apart too
    pieces = [p for s in passage_sentences(passage) for p in split.split(s)]
    for mine in split.split(clause):
        words = set(_content(mine))
        shared = sorted(((len(words & set(_content(p))), p) for p in pieces), reverse=True)
        if not shared or shared[0][0] < 2 or (len(shared) > 1 and shared[1][0] == shared[0][0]):
            continue  # no single piece it clearly comes from
        source = shared[0][1]
        absent = [w for _, w, i in _names(mine) if not _name_in(w, i, source)]
        instead = [w for _, w, i in _names(source) if not _name_in(w, i, sentence or clause)]
        for a, b in ((a, b) for a in absent for b in instead if a.isupper() == b.isupper()):
            return f"'{a}' where cited passage says '{b}'"
    return None


def _negated(text: str) -> tuple[bool, dict[str, str], dict[str, str]]:
    """Whether `text` has a negation cue, and its content words (stem -> word) inside and outside
    a cue's scope (up to punctuation or a conjunction; names are left out)."""
    neg: dict[str, str] = {}
    pos: dict[str, str] = {}
    scope, has = False, False
    prev = "."
    for t in _tokens(_NEG_PHRASES.sub(" not ", _bounds(text))):
        w, name = t.text.lower(), t.text[:1].isupper() and prev not in ".?!:"
        prev = t.text
        if w in _NEGATIONS:
            scope, has = True, True
        elif w in _SCOPE_ENDS:
            scope = False
        elif t.kind == "word" and w not in _STOP and not name:  # a negation is not about names
            (neg if scope else pos)[_SYN.get(_stem(w), _stem(w))] = w
    return has, neg, pos


def _unnamed(text: str) -> list[str]:
    """`text`'s content words without its names: capitalised words not opening a sentence,
    and acronyms (two capitals or more) anywhere."""
    text = text.strip()
    named = {m.group(1).lower() for m in re.finditer(r"(?<![.?!:]\s)(?<!^)\b([A-Z][\w-]*)", text)}
    named |= {w.lower() for w in re.findall(r"\b[\w-]+\b", text) if sum(map(str.isupper, w)) > 1}
    kept = " ".join(w for w in text.split() if w.strip(".,;:!?()\"'").lower() not in named)
    return _content(kept)


def check_negation(clause: str, passage: str) -> str | None:
    """Overlap cannot tell "never affect" from "can derail". No word may be asserted by the claim
    but only ever negated by the passage (or the other way round), and each piece of the claim
    must find a passage piece of its polarity among those sharing most words with it."""
    c_has, c_neg, c_pos = _negated(clause)
    # a question asserts nothing: "Do I need coding skills? Not extensively." negates them
    stated = "\n".join(s for s in passage_sentences(passage) if not s.rstrip().endswith("?"))
    _, p_neg, p_pos = _negated(stated)
    flipped = [w for s, w in c_pos.items() if s in p_neg and s not in p_pos and s not in c_neg]
    # a negation the passage has on another word of the claim's negated scope is the same
    # negation, scoped otherwise ("can't be compared directly with the BLS figures" for "the BLS
    # figures are medians, so the two are not directly comparable")
    if not c_neg.keys() & p_neg.keys():
        flipped += [w for s, w in c_neg.items() if s in p_pos and s not in p_neg]
    if flipped:
        return f"negation differs on '{flipped[0]}'"
    texts = [p for s in passage_sentences(stated) for p in _PIECES.split(s)]
    # which piece a claim's piece answers is read from its content words, names left out (as
    # for the scopes above): "CRISP-DM" is in every piece of a passage about CRISP-DM
    pieces = [(set(_unnamed(t)), _negated(t)[0]) for t in texts]
    for mine in _PIECES.split(clause):
        words, has = set(_unnamed(mine)), _negated(mine)[0]
        top = max((len(words & w) for w, _ in pieces), default=0)
        if top and all(neg != has for w, neg in pieces if len(words & w) == top):
            return "negation differs: cited passage " + ("does not negate" if has else "negates")
    return None


def check_reversal(clause: str, passage_sentence: str, passage: str) -> str | None:
    """Antonyms ("fall" for "rise", "at least" for "at most") and prefixed opposites ("proctored"
    for "unproctored") keep every other word, so coverage and cosine stay high. Unambiguous pairs
    (mandatory/voluntary) are looked for in the whole passage, common ones in the best sentence."""
    mine, theirs, whole = ({_stem(w): w.lower() for w in _words(_bounds(x))}
                           for x in (clause, passage_sentence, passage))
    for s, w in mine.items():
        opposites = _ANTI.get(s, set()) | {"un" + s, "non" + s}
        opposites |= {s[len(p):] for p in ("un", "non") if s.startswith(p) and len(s) > len(p) + 3}
        other = next((theirs[o] for o in opposites if o in theirs and s not in theirs), None)
        other = other or next((whole[o] for o in opposites & _STRONG
                               if o in whole and s not in whole), None)
        if other:
            return f"reversed: '{w}' where cited passage says '{other}'"
    return None


def check_list_items(claim: str, passage: str) -> str | None:
    """A swapped member of an enumeration ("tech, finance and manufacturing" for "... and
    retail") leaves coverage and cosine high, yet each member is a fact of its own."""
    for m in _ENUMERATION.finditer(claim):
        items = [i.split() for i in re.split(r",\s*(?:and |or )?|\s(?:and|or)\s", m.group())]
        first, last = items[0], items[-1]
        cut = max((k + 1 for k, w in enumerate(first) if w.lower() in _STOP), default=0)
        items[0] = first[cut:]  # "fields like Computer Science": the member is the tail
        end = next((k for k, w in enumerate(last) if w.lower() in _STOP), len(last))
        items[-1] = last[:end]  # "manufacturing are among the top": the member is the head
        members = [" ".join(i) for i in items]
        if not all(map(_content, members)):
            continue  # "who does which piece of work, when and how": clauses, not a list of things
        for member in members:
            if coverage(member, passage)[0] == 0:
                return f"list item '{member}' not in cited passage"
    return None


def coverage(claim: str, passage: str) -> tuple[float, list[str]]:
    """Share of the claim's content stems present in the passage, and the absent ones.
    Compounds ("boot camps" ~ "bootcamps") and acronyms of passage phrases count as present."""
    words, ptoks = _content(passage), _words(passage)
    have = set(words) | {a + b for a, b in zip(words, words[1:], strict=False)}
    acronyms = {_stem(w): w.rstrip("s") for w in _words(claim)
                if len(w) > 1 and w.rstrip("s").isupper()}
    mine = _content(claim)
    missing = [w for w in mine if w not in have
               and not (w in acronyms and _initials_in(acronyms[w], ptoks))]
    return (1 - len(missing) / len(mine) if mine else 1.0), missing




_UNIVERSAL = {"all", "every", "always", "must", "everyone", "everything", "only", "entirely",
              "completely", "any", "invariably", "universally", "necessarily"}
_PARTIAL = {"some", "many", "several", "often", "sometimes", "may", "might", "can", "could",
            "most", "few", "usually", "typically", "optional", "certain", "generally",
            "frequently", "occasionally", "commonly"}
# an obligation the passage states, made a choice ("may choose to follow it" for "must follow it")
_OBLIGED = {"must", "required", "shall", "mandatory", "obliged"}
_OPTIONAL = {"may", "might", "optional", "optionally", "choose", "chooses", "voluntarily"}


def check_quantifier(clause: str, passage_sentence: str, passage: str = "") -> str | None:
    """A quantifier or modal made stronger ("all" for "some", "must" for "can") keeps every
    content word, so it is compared with the passage sentence the clause comes from. A bound
    is looked for beside its own number anywhere in `passage` too: a clause that joins two
    items of a list ("Planning lasts at most 8 hours, and the Daily Scrum 15 minutes") is
    closest to neither item's sentence."""
    bound_mine, bound_theirs = _bounds(clause).lower(), _bounds(passage_sentence).lower()
    everywhere = _bounds(passage).lower()
    for bound in ("at least", "at most"):  # "lasts at least 15 minutes" for "lasts 15 minutes"
        if bound in bound_mine and bound not in bound_theirs and quantities(clause):
            said = set(re.findall(rf"\b{bound} (\S+?)[.,;:]?(?=\s|$)", bound_mine))
            if said & set(re.findall(rf"\b{bound} (\S+?)[.,;:]?(?=\s|$)", everywhere)):
                continue
            return f"bound differs: '{bound}' not in cited passage"
    # "exactly 36 months" where the passage says "at least 36 months": a bound made a point
    for n in re.findall(r"\bexactly (\S+?)[.,;:]?(?=\s|$)", clause.lower()):
        for bound in ("at least", "at most"):
            if n in re.findall(rf"\b{bound} (\S+?)[.,;:]?(?=\s|$)", everywhere):
                return f"bound differs: 'exactly' where cited passage says '{bound}'"
    if re.search(r"\bat all\b", clause, re.I) and not re.search(r"\bat all\b", passage_sentence,
                                                               re.I):
        return "quantifier differs: 'at all' where cited passage qualifies"
    mine = {w.lower() for w in _words(clause)}
    theirs = {w.lower() for w in _words(passage_sentence)}
    if _negated(clause)[0]:
        mine -= {"any"}  # "you don't have to pay any fee" claims nothing of all fees
    strong = sorted(mine & _UNIVERSAL - theirs)
    weak = sorted(theirs & _PARTIAL - mine)
    if strong and weak and not theirs & _UNIVERSAL:
        return f"quantifier differs: '{strong[0]}' where cited passage says '{weak[0]}'"
    optional = sorted(mine & _OPTIONAL - theirs)
    obliged = sorted(theirs & _OBLIGED - mine)
    if optional and obliged and not mine & _OBLIGED and not _negated(passage_sentence)[0]:
        return f"modality differs: '{optional[0]}' where cited passage says '{obliged[0]}'"
    return None
