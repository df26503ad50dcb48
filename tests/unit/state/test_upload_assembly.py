"""Streamed upload chunks back into files: boundaries, per-file progress, empty files, the size cap."""

from __future__ import annotations

from state.upload_assembly import FileAssembler


def test_each_file_completes_when_the_next_one_starts_with_its_own_progress() -> None:
    assembler = FileAssembler([10, 4], cap=100)
    assert assembler.add("a.md", 0, b"01234") is None
    assert assembler.percent() == 50
    assert assembler.add("a.md", 5, b"56789") is None
    assert assembler.percent() == 100
    first = assembler.add("b.md", 0, b"wx")
    assert first is not None and (first.index, first.name, bytes(first.data)) == (0, "a.md", b"0123456789")
    assert assembler.percent() == 50
    assembler.add("b.md", 2, b"yz")
    last = assembler.finish()
    assert last is not None and (last.index, bytes(last.data), last.received) == (1, b"wxyz", 4)
    assert assembler.finish() is None


def test_empty_files_and_a_leading_empty_chunk_keep_their_places() -> None:
    assembler = FileAssembler([0, 0, 3], cap=100)
    assert assembler.add("same.txt", 0, b"") is None
    first = assembler.add("same.txt", 0, b"")  # a second empty file under the same name
    assert first is not None and first.index == 0 and first.received == 0
    second = assembler.add("c.txt", 0, b"")  # the third file's parser may start with an empty slice
    assert second is not None and second.index == 1
    assert assembler.add("c.txt", 0, b"abc") is None  # still the third file
    last = assembler.finish()
    assert last is not None and (last.index, bytes(last.data)) == (2, b"abc")


def test_bytes_past_the_cap_are_counted_not_kept() -> None:
    assembler = FileAssembler([1000], cap=10)
    for offset in range(0, 1000, 100):
        assembler.add("big.pdf", offset, b"x" * 100)
    big = assembler.finish()
    assert big is not None and big.received == 1000 and len(big.data) == 11
