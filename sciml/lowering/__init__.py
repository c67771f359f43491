"""Lowering: syntax tree -> the typed IR (names, shapes, constants, completeness)."""
