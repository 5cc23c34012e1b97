"""`python -m ledgerlink` runs the command line."""

from ledgerlink.cli.app import main

main()
