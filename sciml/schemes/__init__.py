"""Time integrators and other discretizations, each defined once."""
