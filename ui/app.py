"""Start the chat UI: `python ui/app.py` does what `advisor ui` does.

Settings come from `ADVISOR_*` environment variables (host, port, login, index folder, LLM);
the index is built or brought up to date first, then the models load once and the app serves.
"""

from advisor import Advisor
from advisor.cli import run_index, settings_with, user_errors
from advisor.ui import launch


def main() -> None:
    with user_errors():
        advisor = Advisor(settings_with())
        run_index(advisor, quiet=True)
        launch(advisor)


if __name__ == "__main__":
    main()
