"""`python -m broadcaster` runs the same command line as `loa`."""

from broadcaster.launch import main

main()
