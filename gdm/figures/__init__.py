"""matplotlib figures in one style: one function per figure, each saved as PNG and PDF."""

from gdm.figures.style import new_figure, save

__all__ = ["new_figure", "save"]
