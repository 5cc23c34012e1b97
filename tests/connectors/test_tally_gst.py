"""GSTINs, state codes and the CGST/SGST/IGST split, as a user configuring Tally meets them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ledgerlink.connectors.tally.gst import (
    gstin_check_character,
    normalise_gstin,
    split_tax,
    state_code,
)
from ledgerlink.errors import RecordError
from tests.emulators.tally.gstrules import gstin_ok
from tests.emulators.tally.samples import config

PAISA = Decimal("0.01")


@pytest.mark.parametrize(
    "gstin", ["27AAPFU0939F1ZV", "29AAGCB7383J1Z4", " 27aapfu0939f1zv ", "07AAACR5055K1Z9"]
)
def test_valid_gstins_are_accepted_in_upper_case(gstin: str) -> None:
    assert normalise_gstin(gstin) == gstin.strip().upper()


def test_a_mistyped_character_is_caught_by_the_check_character() -> None:
    with pytest.raises(RecordError) as raised:
        normalise_gstin("27AAPFU0939F1ZX")
    assert "'27AAPFU0939F1ZX'" in raised.value.message
    assert "check character" in raised.value.message
    assert "'V'" in raised.value.message


def test_an_unknown_state_code_is_named() -> None:
    first14 = "99AAPFU0939F1Z"
    gstin = first14 + gstin_check_character(first14)
    with pytest.raises(RecordError, match="99 is not a GST state code"):
        normalise_gstin(gstin)


@pytest.mark.parametrize("bad", ["27AAPFU0939F1Z", "27AAPFU0939F1ZVV", "2AAAPFU0939F1ZV", "PAN"])
def test_a_gstin_of_the_wrong_shape_names_the_value(bad: str) -> None:
    with pytest.raises(RecordError) as raised:
        normalise_gstin(bad)
    assert repr(bad) in raised.value.message


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=5, max_size=5))
def test_our_check_character_agrees_with_the_emulators_independent_one(pan_letters: str) -> None:
    first14 = f"27{''.join(c for c in pan_letters if c.isalpha()).ljust(5, 'A')}1234F1Z"
    gstin = first14 + gstin_check_character(first14)
    assert gstin_ok(gstin)
    wrong = next(c for c in "0123456789" if c != gstin[14])
    assert not gstin_ok(gstin[:14] + wrong)


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Maharashtra", "27"),
        ("MH", "27"),
        ("27", "27"),
        ("7", "07"),
        ("New Delhi", "07"),
        ("Jammu and Kashmir", "01"),
        ("J&K", "01"),
        ("Dadra & Nagar Haveli and Daman & Diu", "26"),
        ("Orissa", "21"),
        ("Andhra Pradesh", "37"),
        ("Atlantis", None),
        ("", None),
        ("42", None),
    ],
)
def test_states_are_recognised_however_a_crm_spells_them(written: str, code: str | None) -> None:
    assert state_code(written) == code


def test_intra_state_tax_splits_into_equal_halves() -> None:
    split = split_tax(Decimal("18000.00"), intra_state=True, quantum=PAISA)
    assert (split.cgst, split.sgst, split.igst) == (
        Decimal("9000.00"),
        Decimal("9000.00"),
        Decimal(0),
    )


def test_inter_state_tax_is_all_igst() -> None:
    split = split_tax(Decimal("18000.00"), intra_state=False, quantum=PAISA)
    assert (split.cgst, split.sgst, split.igst) == (Decimal(0), Decimal(0), Decimal("18000.00"))


def test_an_odd_paisa_goes_to_cgst_and_the_halves_still_add_up() -> None:
    split = split_tax(Decimal("0.09"), intra_state=True, quantum=PAISA)
    assert (split.cgst, split.sgst) == (Decimal("0.05"), Decimal("0.04"))


@given(st.integers(min_value=0, max_value=10**12))
def test_halves_always_add_up_and_differ_by_at_most_a_paisa(paise: int) -> None:
    amount = Decimal(paise) / 100
    split = split_tax(amount, intra_state=True, quantum=PAISA)
    assert split.cgst + split.sgst == amount
    assert Decimal(0) <= split.cgst - split.sgst <= PAISA


def test_config_rejects_a_company_gstin_with_a_bad_check_character() -> None:
    with pytest.raises(ValidationError, match="27AAPFU0939F1ZX"):
        config(company_gstin="27AAPFU0939F1ZX")


def test_config_needs_the_company_state_one_way_or_another() -> None:
    with pytest.raises(ValidationError, match="company_gstin"):
        config(company_gstin=None)
    assert config(company_gstin=None, company_state="KA").state_code == "29"


def test_config_refuses_a_state_that_contradicts_the_gstin() -> None:
    with pytest.raises(ValidationError, match="registered in Maharashtra"):
        config(company_state="Karnataka")


def test_config_takes_a_server_or_a_file_but_not_both() -> None:
    with pytest.raises(ValidationError, match="either `url`"):
        config(file="tally/out.xml", url="http://127.0.0.1:9000")
    with pytest.raises(ValidationError, match="`company` is required"):
        config(company=None)
