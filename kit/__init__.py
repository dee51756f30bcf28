"""The broadcast kit: a one-press live studio for a Raspberry Pi."""

__version__ = "0.1.0"
