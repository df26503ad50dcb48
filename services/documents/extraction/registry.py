"""The explicit list of extractors, one per file kind; a kind registered twice fails at import."""

from __future__ import annotations

from services.documents.extraction.base import Extractor
from services.documents.extraction.pdf import PdfExtractor
from services.documents.extraction.plain import MarkdownExtractor, TextExtractor
from services.documents.extraction.sheets import XlsxExtractor
from services.documents.extraction.slides import PptxExtractor
from services.documents.extraction.web import HtmlExtractor
from services.documents.extraction.word import DocxExtractor
from services.documents.formats import KINDS, FileKind

EXTRACTORS: tuple[type[Extractor], ...] = (PdfExtractor, DocxExtractor, PptxExtractor, XlsxExtractor, HtmlExtractor,
                                           MarkdownExtractor, TextExtractor)


def build_registry(types: tuple[type[Extractor], ...]) -> dict[FileKind, Extractor]:
    registry: dict[FileKind, Extractor] = {}
    for extractor in types:
        if extractor.kind in registry:
            raise RuntimeError(f"file kind {extractor.kind!r} has two extractors")
        registry[extractor.kind] = extractor()
    missing = set(KINDS) - set(registry)
    if missing:
        raise RuntimeError(f"file kinds without an extractor: {sorted(missing)}")
    return registry


REGISTRY = build_registry(EXTRACTORS)


def extractor_for(kind: FileKind) -> Extractor:
    return REGISTRY[kind]
