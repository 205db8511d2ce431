"""bitlayout: verify C bit layouts across CPU architectures."""

__version__ = "0.1.0"
