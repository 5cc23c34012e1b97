"""TallyPrime / Tally.ERP 9 books: XML over HTTP or import files, GST-correct."""
