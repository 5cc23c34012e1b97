"""Not a test: how long the fuzzy tier takes to index a book and look up a CRM export in it.

Run from the repository root: ``.venv/bin/python bench/fuzzy.py 10000 10000`` (existing
customers, looked-up records). Names are drawn from common first names, surnames and company
words, so blocks are as crowded as in a real book; a third of the lookups are near-duplicates
(a typo, swapped words, "Ltd" for "Limited", a middle initial), the rest are new parties.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ledgerlink.canonical.records import Customer, TargetRecord
from ledgerlink.matching.fuzzy import FuzzyIndex


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily "
    "Andrew Donna Joshua Michelle Kenneth Dorothy Kevin Carol Brian Amanda George Melissa "
    "Edward Deborah Ronald Stephanie Timothy Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia "
    "Jacob Kathleen Gary Amy Nicholas Shirley Eric Angela Jonathan Helen Stephen Anna Larry "
    "Brenda Justin Pamela Scott Nicole Brandon Emma Benjamin Samantha Samuel Katherine Gregory "
    "Christine Frank Debra Alexander Rachel Raymond Catherine Patrick Carolyn Jack Janet "
    "Dennis Ruth Jerry Maria Tyler Heather Aaron Diane Jose Virginia Adam Julie Henry Joyce "
    "Nathan Victoria Douglas Olivia Zachary Kelly Peter Christina Kyle Lauren Walter Joan "
    "Ethan Evelyn"
)
LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales "
    "Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos "
    "Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes "
    "Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry "
    "Russell Sullivan"
)
WORDS = _words(
    "Acme Globex Initech Umbrella Stark Wayne Wonka Tyrell Cyberdyne Soylent Hooli Vandelay "
    "Pied Piper Massive Dynamic Aperture Black Mesa Oscorp Gringotts Monarch Prestige Vehement "
    "Northwind Contoso Fabrikam Litware Adventure Works Tailspin Wingtip Alpine Blue Yonder "
    "Coho Fourth Coffee Graphic Design Lucerne Margie Proseware Southridge Trey Research "
    "Woodgrove"
)
KINDS = _words("Trading Systems Consulting Services Foods Logistics Partners Labs Studio Group")
SUFFIXES = ("Ltd", "Limited", "Inc", "LLC", "GmbH", "")


def person(rng: random.Random) -> Customer:
    return Customer(f"{rng.choice(FIRST)} {rng.choice(LAST)}", kind="person")


def company(rng: random.Random) -> Customer:
    words = [rng.choice(WORDS), rng.choice(KINDS), rng.choice(SUFFIXES)]
    return Customer(" ".join(w for w in words if w), kind="company")


def party(rng: random.Random) -> Customer:
    return person(rng) if rng.random() < 0.7 else company(rng)


def near_duplicate(rng: random.Random, original: Customer) -> Customer:
    words = original.display_name.split()
    choice = rng.randrange(4)
    if choice == 0:  # a typo: two neighbouring letters swapped
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif choice == 1 and original.kind == "person":  # "Smith, John"
        words = [words[-1] + ",", *words[:-1]]
    elif choice == 2 and original.kind == "person":  # a middle initial
        words = [words[0], "Q.", *words[1:]]
    else:  # another company suffix
        words = [w for w in words if w not in SUFFIXES] + [rng.choice(SUFFIXES)]
    return Customer(" ".join(w for w in words if w), kind=original.kind)


def main(existing_count: int, lookup_count: int) -> None:
    rng = random.Random(7)
    existing = [party(rng) for _ in range(existing_count)]
    began = time.perf_counter()
    index = FuzzyIndex.of(TargetRecord(f"T{i}", c) for i, c in enumerate(existing))
    built = time.perf_counter() - began
    lookups = [
        near_duplicate(rng, rng.choice(existing)) if i % 3 == 0 else party(rng)
        for i in range(lookup_count)
    ]
    began = time.perf_counter()
    with_candidates = sum(1 for record in lookups if index.find(record))
    looked = time.perf_counter() - began
    largest = max(len(b) for b in index._blocks.values())
    print(
        f"index {existing_count:,} customers: {built:.2f} s; "
        f"look up {lookup_count:,} records: {looked:.2f} s "
        f"({looked / lookup_count * 1e6:.0f} µs each); "
        f"{with_candidates:,} with candidates; largest block {largest:,}"
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]] or [10_000, 10_000]
    main(*args) if len(args) == 2 else main(args[0], args[0])
