"""Indian GST rules: GSTIN format and checksum, state codes and names, the CGST/SGST/IGST split."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ledgerlink.errors import RecordError

# State and union-territory codes of the GST system (the first two digits of a GSTIN), with the
# names TallyPrime lists in its State field. 25 (Daman and Diu) was merged into 26 in 2020 but
# GSTINs starting with 25 remain valid; 28 is Andhra Pradesh before its 2014 bifurcation.
STATES: dict[str, str] = {
    "01": "Jammu & Kashmir",
    "02": "Himachal Pradesh",
    "03": "Punjab",
    "04": "Chandigarh",
    "05": "Uttarakhand",
    "06": "Haryana",
    "07": "Delhi",
    "08": "Rajasthan",
    "09": "Uttar Pradesh",
    "10": "Bihar",
    "11": "Sikkim",
    "12": "Arunachal Pradesh",
    "13": "Nagaland",
    "14": "Manipur",
    "15": "Mizoram",
    "16": "Tripura",
    "17": "Meghalaya",
    "18": "Assam",
    "19": "West Bengal",
    "20": "Jharkhand",
    "21": "Odisha",
    "22": "Chhattisgarh",
    "23": "Madhya Pradesh",
    "24": "Gujarat",
    "25": "Daman & Diu",
    "26": "Dadra & Nagar Haveli and Daman & Diu",
    "27": "Maharashtra",
    "28": "Andhra Pradesh (Old)",
    "29": "Karnataka",
    "30": "Goa",
    "31": "Lakshadweep",
    "32": "Kerala",
    "33": "Tamil Nadu",
    "34": "Puducherry",
    "35": "Andaman & Nicobar Islands",
    "36": "Telangana",
    "37": "Andhra Pradesh",
    "38": "Ladakh",
    "97": "Other Territory",
}

# Other spellings people type into a CRM's state field, including the two-letter abbreviations.
_ALIASES: dict[str, str] = {
    "jammu and kashmir": "01", "jk": "01", "j&k": "01", "hp": "02", "pb": "03", "ch": "04",
    "uttaranchal": "05", "uk": "05", "ut": "05", "hr": "06", "new delhi": "07",
    "nct of delhi": "07", "dl": "07", "rj": "08", "up": "09", "br": "10", "sk": "11",
    "ar": "12", "nl": "13", "mn": "14", "mz": "15", "tr": "16", "ml": "17", "as": "18",
    "wb": "19", "jh": "20", "orissa": "21", "od": "21", "or": "21", "cg": "22",
    "chattisgarh": "22", "mp": "23", "gj": "24", "daman and diu": "25", "dd": "25",
    "dadra and nagar haveli": "26", "dn": "26", "mh": "27", "ka": "29", "ga": "30",
    "ld": "31", "kl": "32", "tn": "33", "pondicherry": "34", "py": "34",
    "andaman and nicobar": "35", "an": "35", "ts": "36", "tg": "36", "ap": "37",
    "la": "38",
}  # fmt: skip

_GSTIN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_INDIA = frozenset(("", "in", "ind", "india", "bharat"))
_TWO = Decimal(2)


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).casefold().replace("&", " and ")
    return " ".join("".join(c if c.isalnum() else " " for c in folded).split())


_BY_NAME: dict[str, str] = {
    **{_fold(name): code for code, name in STATES.items()},
    **{_fold(alias): code for alias, code in _ALIASES.items()},
    **{_fold(name.removesuffix(" (Old)")): code for code, name in STATES.items() if code != "28"},
}


def gstin_check_character(first14: str) -> str:
    """The 15th character of a GSTIN: the Luhn mod-36 check over its first 14 characters."""
    total = 0
    for position, char in enumerate(first14):
        product = _ALPHABET.index(char) * (2 if position % 2 else 1)
        total += product // 36 + product % 36
    return _ALPHABET[(36 - total % 36) % 36]


def normalise_gstin(value: str) -> str:
    """A GSTIN in upper case without spaces, validated; raises ``RecordError`` naming the value.

    Checks the shape (state code, PAN, entity number, ``Z``-position character, check character),
    that the state code exists, and the check character.
    """
    gstin = "".join(value.split()).upper()
    if not _GSTIN.match(gstin):
        raise RecordError(
            f"GSTIN {value!r} is not valid: a GSTIN is 15 characters, a 2-digit state code, "
            "a 10-character PAN, an entity number, Z and a check character",
            hint="Correct the customer's GSTIN (tax id) in the CRM, or clear it for an "
            "unregistered customer",
        )
    if gstin[:2] not in STATES:
        raise RecordError(
            f"GSTIN {value!r} is not valid: {gstin[:2]} is not a GST state code",
            hint="The first two digits are the state code (27 Maharashtra, 29 Karnataka, ...); "
            "correct the GSTIN in the CRM",
        )
    expected = gstin_check_character(gstin[:14])
    if gstin[14] != expected:
        raise RecordError(
            f"GSTIN {value!r} is not valid: its check character is {gstin[14]!r}, "
            f"the first 14 characters call for {expected!r}",
            hint="A character was probably mistyped; copy the GSTIN again from the customer's "
            "registration certificate",
        )
    return gstin


def state_code(value: str) -> str | None:
    """The GST code of a state written as a name, an abbreviation or a code; None if unknown."""
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        code = text.zfill(2)
        return code if code in STATES else None
    return _BY_NAME.get(_fold(text))


def state_name(code: str) -> str:
    """Tally's name of a state code."""
    return STATES[code]


def is_india(country: str) -> bool:
    """True for an empty country or any usual spelling of India."""
    return _fold(country) in _INDIA


@dataclass(frozen=True, slots=True)
class TaxSplit:
    """One tax amount split into the duties the voucher carries."""

    cgst: Decimal = Decimal(0)
    sgst: Decimal = Decimal(0)
    igst: Decimal = Decimal(0)


def split_tax(amount: Decimal, *, intra_state: bool, quantum: Decimal) -> TaxSplit:
    """Split a GST amount: CGST + SGST in halves within a state, all IGST between states.

    The halves always add up to ``amount`` exactly. When the amount has an odd number of minor
    units, CGST takes the extra paisa (its half is rounded half-up) and SGST the rest, so
    18% on 0.50 (0.09 tax) becomes CGST 0.05 + SGST 0.04.
    """
    if not intra_state:
        return TaxSplit(igst=amount)
    cgst = (amount / _TWO).quantize(quantum, rounding=ROUND_HALF_UP)
    return TaxSplit(cgst=cgst, sgst=amount - cgst)
