"""The document library: storage of originals, extraction to Markdown, versions, search, rendering, export."""
