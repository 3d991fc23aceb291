"""`advisor eval` and `advisor judge` as the CLI imports them (the code: `advisor.evaluation`)."""

from .evaluation import run_eval_command, run_judge_command

__all__ = ["run_eval_command", "run_judge_command"]
