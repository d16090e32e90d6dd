"""Experiments build on gdm's common config layout (see gdm/train/config.py)."""

from gdm.train.config import base

__all__ = ["base"]
