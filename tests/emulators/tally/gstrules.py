"""The emulator's own GST oracle: GSTIN shape and check character, and state names to codes.

Kept apart from ledgerlink's implementation so that the emulator checks the connector rather than
agreeing with it by construction. The check character is the Luhn mod-36 scheme published for
GSTINs: weights 1, 2, 1, 2, ... over the first 14 characters in base 36, each product folded as
quotient plus remainder by 36.
"""

from __future__ import annotations

import re

STATE_CODES = {
    "jammu and kashmir": "01", "himachal pradesh": "02", "punjab": "03", "chandigarh": "04",
    "uttarakhand": "05", "haryana": "06", "delhi": "07", "rajasthan": "08", "uttar pradesh": "09",
    "bihar": "10", "sikkim": "11", "arunachal pradesh": "12", "nagaland": "13", "manipur": "14",
    "mizoram": "15", "tripura": "16", "meghalaya": "17", "assam": "18", "west bengal": "19",
    "jharkhand": "20", "odisha": "21", "chhattisgarh": "22", "madhya pradesh": "23",
    "gujarat": "24", "daman and diu": "25", "dadra and nagar haveli and daman and diu": "26",
    "maharashtra": "27", "andhra pradesh old": "28", "karnataka": "29", "goa": "30",
    "lakshadweep": "31", "kerala": "32", "tamil nadu": "33", "puducherry": "34",
    "andaman and nicobar islands": "35", "telangana": "36", "andhra pradesh": "37",
    "ladakh": "38", "other territory": "97",
}  # fmt: skip
_SHAPE = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def fold(name: str) -> str:
    """A state name compared loosely: case, '&' and punctuation do not matter."""
    text = name.casefold().replace("&", " and ")
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def state_code(name: str) -> str | None:
    """The GST code of a state name as Tally lists it, or None."""
    return STATE_CODES.get(fold(name))


def gstin_ok(gstin: str) -> bool:
    """True for a GSTIN of the right shape, a real state code and a correct check character."""
    if not _SHAPE.match(gstin) or gstin[:2] not in STATE_CODES.values():
        return False
    total = 0
    for index, char in enumerate(gstin[:14]):
        weight = 2 if index % 2 else 1
        quotient, remainder = divmod(_BASE36.index(char) * weight, 36)
        total += quotient + remainder
    return _BASE36[-total % 36] == gstin[14]
