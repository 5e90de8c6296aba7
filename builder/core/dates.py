"""Locating the date in a YAML text that is not a real date, for errors that name its line."""
from __future__ import annotations

import re
from datetime import date


def first_bad_date_line(text: str, first_line: int = 2) -> int | None:
    """The file line of the first date-like value that is not a real date; `text` starts at `first_line`."""
    for number, line in enumerate(text.split("\n"), first_line):
        for found in re.findall(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", line):
            try:
                date(*map(int, found))
            except ValueError:
                return number
    return None
