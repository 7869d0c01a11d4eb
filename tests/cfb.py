"""A minimal writer of OLE2 compound files (MS-CFB version 3) for test documents.

Legacy Office files, OLE objects embedded in OOXML (``oleObject1.bin``) and RTF ``\\objdata``
are compound files; no Python library writes them, so the tests build their own: streams are
padded to the 4096-byte mini-stream cutoff so every stream lives in ordinary 512-byte sectors
(no mini FAT), and each storage's children hang off one right-sibling chain.  olefile and
oletools read the result like any file Office writes.
"""

from __future__ import annotations

import struct
import uuid

SECTOR = 512
ENDOFCHAIN = 0xFFFFFFFE
FREESECT = 0xFFFFFFFF
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class _Node:
    def __init__(self, name: str, kind: int, data: bytes = b"", clsid: str | None = None) -> None:
        self.name = name
        self.kind = kind  # 1 storage, 2 stream, 5 root
        self.data = data
        self.clsid = clsid
        self.children: list[_Node] = []
        self.sid = 0
        self.start = ENDOFCHAIN


def _clsid_bytes(clsid: str | None) -> bytes:
    return uuid.UUID(clsid).bytes_le if clsid else b"\x00" * 16


def cfb(streams: dict[str, bytes], root_clsid: str | None = None, clsids: dict[str, str] | None = None) -> bytes:
    """A compound file holding ``streams`` (paths like ``Macros/VBA/dir``; storages implied)."""
    clsids = clsids or {}
    root = _Node("Root Entry", 5, clsid=root_clsid)
    storages: dict[str, _Node] = {"": root}
    for path, data in streams.items():
        parts = path.split("/")
        parent = root
        for depth in range(len(parts) - 1):
            key = "/".join(parts[: depth + 1])
            if key not in storages:
                node = _Node(parts[depth], 1, clsid=clsids.get(key))
                storages[key] = node
                parent.children.append(node)
            parent = storages[key]
        padded = data + b"\x00" * max(0, 4096 - len(data))
        parent.children.append(_Node(parts[-1], 2, padded))
    nodes: list[_Node] = []

    def number(node: _Node) -> None:
        node.sid = len(nodes)
        nodes.append(node)
        for child in node.children:
            number(child)

    number(root)
    # Sectors: stream data first, then the directory, then the FAT.
    body = bytearray()
    fat: list[int] = []
    for node in nodes:
        if node.kind != 2:
            continue
        count = -(-len(node.data) // SECTOR)
        node.start = len(fat)
        fat.extend(range(len(fat) + 1, len(fat) + count))
        fat.append(ENDOFCHAIN)
        body += node.data + b"\x00" * (count * SECTOR - len(node.data))
    directory = bytearray()
    right: dict[int, int] = {}
    for node in nodes:
        for i, c in enumerate(node.children):
            right[c.sid] = node.children[i + 1].sid if i + 1 < len(node.children) else NOSTREAM
    for node in nodes:
        name = node.name.encode("utf-16-le") + b"\x00\x00"
        child = node.children[0].sid if node.children else NOSTREAM
        size = len(node.data) if node.kind == 2 else 0
        directory += (
            name.ljust(64, b"\x00")
            + struct.pack("<HBB", len(name), node.kind, 1)
            + struct.pack("<III", NOSTREAM, right.get(node.sid, NOSTREAM), child)
            + _clsid_bytes(node.clsid)
            + struct.pack("<I", 0)
            + b"\x00" * 16
            + struct.pack("<IQ", node.start if node.kind == 2 else ENDOFCHAIN, size)
        )
    while len(directory) % SECTOR:
        directory += b"\x00" * 128  # unused entries (an empty name is an unused slot)
    dir_start = len(fat)
    dir_count = len(directory) // SECTOR
    fat.extend(range(dir_start + 1, dir_start + dir_count))
    fat.append(ENDOFCHAIN)
    body += directory
    fat_count = 1
    while (len(fat) + fat_count) > fat_count * (SECTOR // 4):
        fat_count += 1
    fat_start = len(fat)
    fat.extend([FATSECT] * fat_count)
    fat.extend([FREESECT] * (fat_count * (SECTOR // 4) - len(fat)))
    body += struct.pack(f"<{len(fat)}I", *fat)
    difat = list(range(fat_start, fat_start + fat_count)) + [FREESECT] * (109 - fat_count)
    header = (
        MAGIC
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, fat_count, dir_start, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
        + struct.pack("<109I", *difat)
    )
    assert len(header) == SECTOR
    return header + bytes(body)


def ole_native(filename: str, payload: bytes) -> bytes:
    """An ``\\x01Ole10Native`` stream: the OLE "Package" object carrying ``payload``."""
    name = filename.encode("latin-1") + b"\x00"
    src = f"C:\\Users\\staff\\Desktop\\{filename}".encode("latin-1") + b"\x00"
    temp = f"C:\\Users\\staff\\AppData\\Local\\Temp\\{filename}".encode("latin-1") + b"\x00"
    inner = (
        struct.pack("<H", 2)
        + name
        + src
        + struct.pack("<II", 0x00030000, len(temp))
        + temp
        + struct.pack("<I", len(payload))
        + payload
    )
    return struct.pack("<I", len(inner)) + inner
