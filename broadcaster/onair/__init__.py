"""`loa run`: the station on the air (planner, player, watcher, clock, lock, as-run log, events)."""
