"""Workflow engine: node types, runs and the rules that connect them."""
