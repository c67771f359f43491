"""Analysis: the IR read as mathematics -> findings (structure, stability, well-posedness, sizes)."""
