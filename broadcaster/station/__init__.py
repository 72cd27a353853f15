"""The files an officer edits (station.yaml, announcements, schedules, holidays): read, checked
(every problem as file:line) and written back without losing comments."""
