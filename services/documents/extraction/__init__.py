"""Turning an uploaded file into Markdown: one extractor per file kind, run in a sandboxed process."""
