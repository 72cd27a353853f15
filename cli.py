"""Run Loa from a checkout without installing: `python cli.py say "Xin chào"`."""

from broadcaster.launch import main

if __name__ == "__main__":
    main()
