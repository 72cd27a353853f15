"""The pure core: models, recurrence, composition and playout decisions.

Nothing here reads a file or the clock, starts a thread or imports an adapter: `now` is passed in.
"""
