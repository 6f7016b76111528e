"""What a load found wrong, or worth saying, and where: one structured record, translated when shown.

A Problem carries a stable `key` (its message is `ingest.problem.<key>` in the catalogues), the values
its message uses, and the place: file, sheet, row and column, as the person who made the file will look
for it (row numbers as a spreadsheet program shows them, column headers as written in the file).
`IngestError` is a refused load: it holds the errors found, and nothing has been changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.i18n import t, tn

ERROR, WARNING, INFO = "error", "warning", "info"
# Rows named in one message; the rest are counted ("and 120 more rows").
ROWS_SHOWN = 5


@dataclass(frozen=True)
class Problem:
    key: str
    params: dict = field(default_factory=dict)
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    level: str = ERROR
    # The same problem in several rows of one column: the first rows (row is rows[0]) and how many in all.
    rows: tuple[int, ...] = ()
    count: int = 1

    def where(self, lang: str) -> str:
        parts = []
        if self.file:
            parts.append(t("ingest.where.file", lang, file=self.file))
        if self.sheet:
            parts.append(t("ingest.where.sheet", lang, sheet=self.sheet))
        if self.rows and len(self.rows) > 1:
            parts.append(t("ingest.where.rows", lang, rows=", ".join(map(str, self.rows))))
        elif self.row is not None:
            parts.append(t("ingest.where.row", lang, row=str(self.row)))
        if self.column:
            parts.append(t("ingest.where.column", lang, column=self.column))
        return ", ".join(parts)

    def message(self, lang: str) -> str:
        """The problem in words, in `lang`: where, then what."""
        key = f"ingest.problem.{self.key}"
        if "n" in self.params:  # a count: the message has plural forms
            what = tn(key, self.params["n"], lang, **{k: v for k, v in self.params.items() if k != "n"})
        else:
            what = t(key, lang, **self.params)
        if self.count > max(len(self.rows), 1):
            what = f"{what} {tn('ingest.more_rows', self.count - max(len(self.rows), 1), lang)}"
        where = self.where(lang)
        return t("ingest.problem_at", lang, where=where, what=what) if where else what

    def __str__(self) -> str:
        return self.message("en")


class IngestError(Exception):
    """A refused load: `problems` are the errors found (at least one). Nothing was changed."""

    def __init__(self, problems: Problem | Sequence[Problem]):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        if not self.problems:
            raise ValueError("an IngestError needs at least one problem")
        super().__init__(str(self.problems[0]))

    def messages(self, lang: str) -> list[str]:
        return [p.message(lang) for p in self.problems]

    def __str__(self) -> str:
        more = len(self.problems) - 1
        return str(self.problems[0]) + (f" (and {more} more problems)" if more else "")


def refuse(key: str, /, **kwargs) -> IngestError:
    """An IngestError of one problem: `raise refuse("file_empty", file=name)`."""
    place = {k: kwargs.pop(k) for k in ("file", "sheet", "row", "column") if k in kwargs}
    return IngestError(Problem(key, kwargs, **place))


def row_problems(key: str, rows: Sequence[int], *, file: str | None, sheet: str | None, column: str | None,
                 level: str = ERROR, **params) -> Problem:
    """One problem for every row of `rows` (file row numbers) in one column, naming the first few."""
    shown = tuple(int(r) for r in rows[:ROWS_SHOWN])
    return Problem(key, params, file=file, sheet=sheet, row=shown[0] if shown else None, column=column,
                   level=level, rows=shown, count=len(rows))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.level == ERROR]
