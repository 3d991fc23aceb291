"""Career advisor: answers career questions from a curated corpus, every sentence cited.

    from advisor import Advisor
    advisor = Advisor()            # settings from ADVISOR_* environment variables
    advisor.index()                # build or update the index (incremental)
    answer = advisor.invoke({"question": "What salary can an AI project manager expect?"})
    print(answer.answer, answer.citations)
"""

from .chain import Advisor, AdvisorInput
from .config import Settings
from .errors import AdvisorError, IndexMissingError, InvalidQuestionError, LLMError
from .types import Answer, Citation

__all__ = [
    "Advisor",
    "AdvisorError",
    "AdvisorInput",
    "Answer",
    "Citation",
    "IndexMissingError",
    "InvalidQuestionError",
    "LLMError",
    "Settings",
]
