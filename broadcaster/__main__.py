"""`python -m broadcaster` runs the same command line as `loa`."""

from broadcaster.cli import main

main()
