"""The grading plan: everything a worker of the grading session needs to grade any
submission, decided once by `prodcon grade` and handed to every worker as one JSON
file (`--prodcon-grade-plan`), so that every submission runs with the same settings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from prodcon.grading.submissions import Submission
from prodcon.settings import PROFILES, Settings


@dataclass(frozen=True)
class GradingPlan:
    """Everything a worker needs to grade any submission; one JSON file, shared by all."""

    submissions: list[Submission]
    seed: int
    profile: str
    timeout_factor: float
    time_limit: float
    expected: list[str]
    outdir: str
    rubric_path: str | None
    gradescope: bool
    #: --prodcon-strict for every run: the rubric counts strict-linearizability.
    strict: bool = False
    #: --prodcon-model for every run (and the reference's), when the class's code is
    #: for asyncio: `prodcon grade --model asyncio`.
    model: str | None = None

    def settings(self) -> Settings:
        """The run settings every submission is graded with (their `--prodcon-*` words
        come from `Settings.options`, for the graded run and for its replay alike)."""
        return Settings(seed=self.seed, profile=PROFILES[self.profile],
                        timeout_factor=self.timeout_factor, strict=self.strict)

    def options(self) -> list[str]:
        """The `--prodcon-*` words of every graded run and of its replay command."""
        words = self.settings().options()
        return words + ([f"--prodcon-model={self.model}"] if self.model else [])

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def load(cls, path: str) -> GradingPlan:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        data["submissions"] = [Submission(**entry) for entry in data["submissions"]]
        return cls(**data)
