"""GGUF bytes by hand, hostile layouts included: what the hostile-file tests build their GGUF files from."""

import struct

SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9


def g_str(s: str | bytes) -> bytes:
    raw = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(raw)) + raw


def g_value(vtype: int, value) -> bytes:
    """A GGUF value of `vtype`; an array is (item type, items)."""
    if vtype in SCALAR:
        return struct.pack(SCALAR[vtype], value)
    if vtype == STRING:
        return g_str(value)
    item, items = value
    return struct.pack("<IQ", item, len(items)) + b"".join(g_value(item, v) for v in items)


def g_tensor(name: str | bytes, shape, ggml_type: int, offset: int) -> bytes:
    return g_str(name) + struct.pack(f"<I{len(shape)}Q", len(shape), *shape) + struct.pack("<IQ", ggml_type, offset)


def gguf_blob(kv: list[bytes], tensors: list[bytes], *, data: int, alignment: int = 32, version: int = 3,
              n_kv: int | None = None, n_tensors: int | None = None) -> bytes:
    """Header with the given encoded metadata entries and tensor infos, padded to `alignment`, then `data` bytes."""
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                                 len(kv) if n_kv is None else n_kv) + b"".join(kv) + b"".join(tensors)
    return head + bytes(-len(head) % alignment) + bytes(data)


def kv(key: str, vtype: int, value) -> bytes:
    return g_str(key) + struct.pack("<I", vtype) + g_value(vtype, value)
