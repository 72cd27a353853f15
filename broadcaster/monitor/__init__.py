"""The on-air monitor: what the loudspeakers played, checked against what Loa sent."""
