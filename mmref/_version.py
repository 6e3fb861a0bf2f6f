"""mmref's version, in a leaf module: code that reports it need not import the package."""

__all__ = ["__version__"]

__version__ = "0.1.0"
