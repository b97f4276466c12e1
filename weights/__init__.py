"""Python side of mlff/painn: weight exporters (export.py) and a float64 reference (reference.py)."""
