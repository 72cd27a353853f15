"""The PC itself: `loa doctor`'s checks, the system service unit, installed voices."""
