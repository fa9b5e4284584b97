"""A minimal writer of Compound File Binary files (MS-CFB version 3), for generated test fixtures.

Nothing we install writes CFB (the OLE2 container of Outlook .msg files), so the tests build
one. Only what a reader needs: 512-byte sectors, one FAT (up to 109 FAT sectors, no DIFAT
sectors), a directory of 128-byte entries whose sibling trees are valid red-black trees, and a
mini stream (64-byte mini sectors) for every stream under the 4096-byte cutoff.

A file is described as a tree: ``{name: bytes}`` is a stream, ``{name: {...}}`` a storage.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SECTOR = 512
MINI_SECTOR = 64
MINI_STREAM_CUTOFF = 4096
FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
STORAGE, STREAM, ROOT = 1, 2, 5
RED, BLACK = 0, 1
SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")
HEADER_FAT_SLOTS = 109

Tree = dict[str, "bytes | Tree"]


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list[int] = field(default_factory=list)
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    color: int = BLACK
    start: int = ENDOFCHAIN
    size: int = 0


def _sibling_order(name: str) -> tuple[int, str]:
    """MS-CFB 2.6.4: shorter names first, then the upper-cased names compared."""
    return len(name), name.upper()


def _link_siblings(entries: list[_Entry], ids: list[int]) -> int:
    """Make ``ids`` a balanced red-black tree (median split); returns the root's id.

    Every null link of a median-split tree sits on its last two levels, so colouring the nodes of
    a partly filled last level red (and every other node black) keeps the black height equal.
    """
    ordered = sorted(ids, key=lambda i: _sibling_order(entries[i].name))
    depth_of: dict[int, int] = {}

    def build(items: list[int], depth: int) -> int:
        if not items:
            return NOSTREAM
        middle = len(items) // 2
        node = items[middle]
        depth_of[node] = depth
        entries[node].left = build(items[:middle], depth + 1)
        entries[node].right = build(items[middle + 1:], depth + 1)
        return node

    root = build(ordered, 0)
    deepest = max(depth_of.values(), default=0)
    full = len(ordered) == 2 ** (deepest + 1) - 1
    for node, depth in depth_of.items():
        entries[node].color = RED if depth == deepest and not full else BLACK
    return root


def _flatten(tree: Tree) -> list[_Entry]:
    """Directory entries in id order, the root entry first; storages know their children's ids."""
    entries = [_Entry("Root Entry", ROOT)]

    def add(parent: int, subtree: Tree) -> None:
        for name, value in subtree.items():
            if len(name) > 31:
                raise ValueError(f"CFB names hold at most 31 characters: {name!r}")
            entries.append(_Entry(name, STREAM, data=value, size=len(value)) if isinstance(value, bytes) else _Entry(name, STORAGE))
            entries[parent].children.append(len(entries) - 1)
            if isinstance(value, dict):
                add(len(entries) - 1, value)

    add(0, tree)
    for entry in entries:
        entry.child = _link_siblings(entries, entry.children) if entry.children else NOSTREAM
    return entries


def _chain(table: list[int], count: int) -> int:
    """Allocate ``count`` consecutive sectors at the end of an allocation table; returns the first (or ENDOFCHAIN)."""
    if not count:
        return ENDOFCHAIN
    first = len(table)
    table.extend(range(first + 1, first + count))
    table.append(ENDOFCHAIN)
    return first


def _table(table: list[int]) -> bytes:
    """An allocation table as little-endian 32-bit sector numbers."""
    return struct.pack(f"<{len(table)}I", *table)


def _pad(data: bytes, size: int, filler: bytes = b"\x00") -> bytes:
    """``data`` filled up to a multiple of ``size`` with ``filler``."""
    return data + filler * (-len(data) % size // len(filler))


_ENTRY = struct.Struct("<64sHBBIII16sIQQIQ")


def _directory_entry(entry: _Entry | None) -> bytes:
    """128 bytes: name, type, colour, siblings, child, CLSID, state, times, start sector, size."""
    if entry is None:  # an unused slot
        return _ENTRY.pack(b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, bytes(16), 0, 0, 0, 0, 0)
    name = (entry.name + "\x00").encode("utf-16-le")
    start = 0 if entry.kind == STORAGE else entry.start
    return _ENTRY.pack(name, len(name), entry.kind, entry.color, entry.left, entry.right, entry.child,
                       bytes(16), 0, 0, 0, start, entry.size)


def compound_file(tree: Tree) -> bytes:
    """The bytes of a version 3 compound file holding ``tree`` (see the module docstring)."""
    entries = _flatten(tree)
    streams = [e for e in entries if e.kind == STREAM and e.data]
    small = [e for e in streams if len(e.data) < MINI_STREAM_CUTOFF]
    large = [e for e in streams if len(e.data) >= MINI_STREAM_CUTOFF]

    mini_fat: list[int] = []
    mini_stream = b""
    for entry in small:
        entry.start = _chain(mini_fat, -(-len(entry.data) // MINI_SECTOR))
        mini_stream += _pad(entry.data, MINI_SECTOR)
    entries[0].size = len(mini_stream)

    # After the FAT sectors: the directory, the mini FAT, the mini stream, then each large stream.
    directory_slots = len(entries) + -len(entries) % (SECTOR // _ENTRY.size)
    sizes = [directory_slots * _ENTRY.size, 4 * len(mini_fat), len(mini_stream)] + [len(e.data) for e in large]
    counts = [-(-size // SECTOR) for size in sizes]
    fat_sectors = 1
    while fat_sectors * (SECTOR // 4) < fat_sectors + sum(counts):
        fat_sectors += 1
    if fat_sectors > HEADER_FAT_SLOTS:
        raise ValueError("too large for a FAT without DIFAT sectors")
    fat = [FATSECT] * fat_sectors
    starts = [_chain(fat, count) for count in counts]
    directory_start, mini_fat_start, entries[0].start, *large_starts = starts
    for entry, start in zip(large, large_starts):
        entry.start = start

    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII", SIGNATURE, bytes(16), 0x003E, 3, 0xFFFE, 9, 6, bytes(6),
        0, fat_sectors, directory_start, 0, MINI_STREAM_CUTOFF, mini_fat_start, counts[1], ENDOFCHAIN, 0,
    ) + struct.pack(f"<{HEADER_FAT_SLOTS}I", *range(fat_sectors), *[FREESECT] * (HEADER_FAT_SLOTS - fat_sectors))
    directory = b"".join(_directory_entry(e) for e in entries) + _directory_entry(None) * (directory_slots - len(entries))
    free = b"\xff\xff\xff\xff"
    body = [_pad(_table(fat), SECTOR, free), directory, _pad(_table(mini_fat), SECTOR, free), mini_stream, *(e.data for e in large)]
    return header + b"".join(_pad(part, SECTOR) for part in body)
