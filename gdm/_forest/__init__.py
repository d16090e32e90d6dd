"""Private implementation of gdm.tree and gdm.ensemble: binning, tree growth, inference."""
