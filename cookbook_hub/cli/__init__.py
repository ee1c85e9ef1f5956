"""The `cookbook-hub` command line: the root app (`app.py`) wires one module per command group."""
