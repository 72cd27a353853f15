"""The `loa` command: a thin click shell, and the one place where errors become messages."""
