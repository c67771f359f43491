"""sciml: a compiler from declarative scientific-ML specs to PyTorch and JAX training code."""

__version__ = "0.1.0"
