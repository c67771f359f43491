"""The LaTeX writer: the model as the paper writes it."""
