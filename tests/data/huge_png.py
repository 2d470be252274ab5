"""Writes a 20000 x 20000 single-colour greyscale PNG to argv[1]: about 400 kB (every row
compresses to almost nothing) and 400 megapixels, the portrait a hostile or careless user could
hand over. The portrait tests (tests/portrait.rs, cli/tests/cli.rs) check it is refused from its
header, never decoded."""
import struct
import sys
import zlib

WIDTH = HEIGHT = 20000


def chunk(kind, data):
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


compressor = zlib.compressobj(9)
row = b"\0" * (WIDTH + 1)  # filter type 0, then black pixels
body = b"".join(compressor.compress(row) for _ in range(HEIGHT)) + compressor.flush()
header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 0, 0, 0, 0)  # 8-bit greyscale
with open(sys.argv[1], "wb") as out:
    out.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
