"""Office files are zip archives: read their directory before any library inflates them.

A zip bomb disguised as a DOCX or XLSX declares (or hides) gigabytes behind a few kilobytes;
the sandbox's memory limit would stop it too, but this check names the problem.
"""

from __future__ import annotations

import io
import zipfile

from services.documents.extraction.base import ExtractionError, Limits

MAX_ENTRIES = 10_000
MAX_RATIO = 200  # compressed to uncompressed; real Office XML stays well under 100


def check_archive(data: bytes, limits: Limits, label: str) -> None:
    """Raise ``ExtractionError`` unless ``data`` is a sane zip archive within ``limits``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ExtractionError(f"The file is not a valid {label} (its zip structure is damaged).") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise ExtractionError(f"The {label} holds {len(entries)} parts; more than {MAX_ENTRIES} is refused.")
        unpacked = sum(entry.file_size for entry in entries)
        if unpacked > limits.max_unpacked_bytes:
            megabytes, allowed = unpacked // (1024 * 1024), limits.max_unpacked_bytes // (1024 * 1024)
            raise ExtractionError(f"The {label} unpacks to {megabytes} MB, over the {allowed} MB limit "
                                  "(DOCUMENT_MAX_UNPACKED_MB): it looks like a zip bomb.")
        for entry in entries:
            ratio = entry.file_size // max(entry.compress_size, 1)
            if entry.file_size > 1024 * 1024 and ratio > MAX_RATIO:
                raise ExtractionError(f"The {label} has a part compressed {ratio} to 1: it looks like a zip bomb "
                                      "and is not opened.")
