"""Runners: experiments that are more than one training run (sweeps, comparisons)."""
