"""CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as the journal, the
K-line history files and the md-state files use it (docs/journal-format.md):
for the Python tests and seed scripts that lay files out from the docs."""


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_TABLE = _table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the check value of the standard
