"""The one control protocol every client of a running station uses (CLI, web, province link)."""
