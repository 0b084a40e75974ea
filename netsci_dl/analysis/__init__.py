"""Analyses: `LayeredGraph` -> arrays and small frozen results. Pure; never mutate the input."""
