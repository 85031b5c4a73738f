"""pitterm: the terminal a casino pit runs on."""

__all__ = ["__version__"]

__version__ = "0.1.0"
