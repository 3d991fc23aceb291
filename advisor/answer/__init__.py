"""Stage 5, answer: the generators that turn retrieved passages into a cited answer."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from .extractive import ExtractiveGenerator


def make_generator(settings: Settings, llm: Any = None, embedder: Any = None) -> Any:
    """The generator chosen by `ADVISOR_LLM` (or the chat model an app passes in)."""
    if llm is None and settings.llm.strip().lower() in ("", "extractive", "none"):
        return ExtractiveGenerator(settings)
    from ..verify import GroundingJudge
    from .llm import LLMGenerator, make_llm

    judge = None if settings.verify == "off" else GroundingJudge(embedder)
    return LLMGenerator(settings, llm if llm is not None else make_llm(settings), judge)


__all__ = ["ExtractiveGenerator", "make_generator"]
