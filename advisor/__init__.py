"""Career advisor: answers career questions from a curated corpus, every sentence cited.

    from advisor import Advisor
    advisor = Advisor()            # settings from ADVISOR_* environment variables
    advisor.index()                # build or update the index (incremental)
    answer = advisor.invoke({"question": "What salary can an AI project manager expect?"})
    print(answer.answer, answer.citations)
    checklist = check_cv(Path("cv.pdf"))   # what the guide asks for that the CV shows
"""

from .chain import Advisor, AdvisorInput
from .config import Settings
from .errors import AdvisorError, IndexMissingError, InvalidQuestionError, LLMError
from .profile import Checklist, check_cv
from .types import Answer, Citation

__all__ = [
    "Advisor",
    "AdvisorError",
    "AdvisorInput",
    "Answer",
    "Checklist",
    "Citation",
    "IndexMissingError",
    "InvalidQuestionError",
    "LLMError",
    "Settings",
    "check_cv",
]
