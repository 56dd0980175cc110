"""A text-only PDF (PDF 1.4, Courier, A4, as many pages as the lines need), written by hand
because no PDF library is in requirements.txt. Enough for an auditor to read and print a
frozen report; layout is one monospaced line per text line."""

from __future__ import annotations

LINES_PER_PAGE = 64
FONT_SIZE = 8
LEADING = 12
WIDTH, HEIGHT = 595, 842  # A4 in points


def _escape(text: str) -> str:
    # PDF literal strings: backslash and parentheses are escaped; Latin-1 only (the report
    # is ASCII apart from names; anything else becomes '?').
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(lines: list[str], *, title: str = "") -> bytes:
    pages = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    objects: list[bytes] = []  # object n is objects[n - 1]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(b"")  # pages: filled below, once the kids are known
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>")
    kids = []
    for number, page in enumerate(pages, start=1):
        ops = [f"BT /F1 {FONT_SIZE} Tf {LEADING} TL 36 {HEIGHT - 40} Td"]
        header = f"{title}  page {number}/{len(pages)}" if title else f"page {number}"
        ops.append(f"({_escape(header)}) Tj T*")
        ops.append("() Tj T*")
        ops += [f"({_escape(line[:110])}) Tj T*" for line in page]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (WIDTH, HEIGHT, content_ref)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for index, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (index, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
