"""Typed reading of single values, with located problems instead of exceptions.

Manifest keys and table cells come in as plain Python values (TOML gives
typed values, a CSV cell is text). These helpers turn one value into the type
the spec asks for, or record a :class:`Problem` and return a sentinel, so a
whole instance can be checked in one pass and every problem reported at once.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import Problem

TRUE_WORDS = {"true", "yes", "1"}
FALSE_WORDS = {"false", "no", "0"}
ABSENT_WORDS = {"nan", "null"}  # a CSV cell spelling out "no value"
# The largest size any number of an instance may have. HiGHS treats |value| >=
# 1e20 as infinite; 1e15 leaves room for the products the model forms (see
# spatialopt.magnitudes) and is far beyond any real count, cost or capacity.
MAX_MAGNITUDE = 1e15
MAGNITUDE_TEXT = "at most 1e15 in size (spatialopt's limit, which keeps the model's numbers finite for HiGHS)"


class Invalid:
    """Sentinel for a value that was reported as a problem."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID = Invalid()


def _range_text(minimum: float | None, maximum: float | None, whole: bool, finite: bool = True) -> str:
    kind = "a whole number" if whole else "a number"
    if minimum is not None and maximum is not None:
        return f"{kind} in [{_fmt(minimum)}, {_fmt(maximum)}]"
    if minimum is not None:
        return f"{kind} >= {_fmt(minimum)}"
    if maximum is not None:
        return f"{kind} <= {_fmt(maximum)}"
    return kind.replace("a ", "a finite ", 1) if finite else kind


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def as_number(
    value: Any,
    where: str,
    column: str,
    problems: list[Problem],
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    whole: bool = False,
    exclusive_minimum: bool = False,
) -> float | None | Invalid:
    """A finite number within bounds, ``None`` when absent, else INVALID (reported)."""
    if value is None:
        return None
    expected = _range_text(minimum, maximum, whole)
    if exclusive_minimum and minimum is not None:
        expected = f"a number > {_fmt(minimum)}"
    if isinstance(value, bool):
        problems.append(Problem(where, column, value, expected))
        return INVALID
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            problems.append(Problem(where, column, value, f"{expected}, {MAGNITUDE_TEXT}"))
            return INVALID
    elif isinstance(value, str):
        text = value.strip()
        if text == "" or text.lower() in ABSENT_WORDS:
            return None
        try:
            number = float(text.replace("_", "")) if _plain_numeric(text) else float("x")
        except ValueError:
            problems.append(Problem(where, column, value, expected))
            return INVALID
    else:
        problems.append(Problem(where, column, value, expected))
        return INVALID
    if math.isnan(number):
        return None
    if math.isinf(number):
        problems.append(Problem(where, column, value, expected + " (finite; leave it empty for no limit)"))
        return INVALID
    if abs(number) > MAX_MAGNITUDE:
        problems.append(Problem(where, column, value, f"{expected}, {MAGNITUDE_TEXT}"))
        return INVALID
    too_low = minimum is not None and (number <= minimum if exclusive_minimum else number < minimum)
    too_high = maximum is not None and number > maximum
    if too_low or too_high or (whole and not number.is_integer()):
        problems.append(Problem(where, column, value, expected))
        return INVALID
    return number


def _plain_numeric(text: str) -> bool:
    """Accept decimal notation only (no hex, no 'infinity' words other than inf)."""
    allowed = set("0123456789+-.eE_")
    lowered = text.lower()
    return lowered in {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"} or set(text) <= allowed


def as_bool(value: Any, where: str, column: str, problems: list[Problem]) -> bool | None | Invalid:
    """true/false (also yes/no, 1/0 in text cells), ``None`` when absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and math.isnan(value):
            return None
        if value in (0, 1):
            return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "":
            return None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    problems.append(Problem(where, column, value, "true or false"))
    return INVALID


def as_text(value: Any, where: str, column: str, problems: list[Problem]) -> str | None | Invalid:
    """Text (ids and labels); whole numbers from typed formats become their digits."""
    if value is None:
        return None
    if isinstance(value, bool):
        problems.append(Problem(where, column, value, "text"))
        return INVALID
    if isinstance(value, str):
        return value if value.strip() != "" else None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    problems.append(Problem(where, column, value, "text"))
    return INVALID


def is_invalid(*values: object) -> bool:
    return any(v is INVALID for v in values)
