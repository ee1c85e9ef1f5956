"""Turning template samples into rows: formatting styles, the Arrow schema, row sources, generation and writers."""
