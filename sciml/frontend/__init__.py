"""The front end: text -> syntax tree (grammar, parser, syntax tree, spans and diagnostics)."""
