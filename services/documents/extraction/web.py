"""HTML to Markdown: scripts, styles and embedded frames dropped, then markdownify."""

from __future__ import annotations

from services.documents.extraction.base import Extracted, Extractor, Limits, Progress
from services.documents.extraction.plain import decode_text
from services.documents.formats import FileKind

_DROPPED = ("script", "style", "noscript", "iframe", "object", "embed", "template", "head")


class HtmlExtractor(Extractor):
    kind = FileKind.HTML

    def extract(self, data: bytes, limits: Limits, progress: Progress) -> Extracted:
        # Imported where used: the extraction process loads only the parser its file needs.
        from bs4 import BeautifulSoup
        from markdownify import markdownify

        soup = BeautifulSoup(decode_text(data), "html.parser")
        title = soup.title.get_text(strip=True) if soup.title else None
        for element in soup.find_all(_DROPPED):
            element.decompose()
        markdown = markdownify(str(soup), heading_style="ATX", bullets="-")
        progress(1.0)
        lines = [line.rstrip() for line in markdown.splitlines()]
        text = "\n".join(lines)
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        return Extracted(markdown=text.strip(), pages=None, title=title or None)
