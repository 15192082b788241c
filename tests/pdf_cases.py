"""Hard-case PDFs made by the project itself, so the suite needs nothing beside the repository.

Each case stands for one behaviour of the external corpus (../shared/corpus/pdf,
issue 14): rotated pages and a CropBox offset, vertical and mirrored text
matrices, duplicate overlaid glyphs, ligatures mapped through ToUnicode, CID
fonts (Identity-H/V with a ToUnicode CMap, and a predefined CMap pdfminer
ships), two columns, tiny and huge pages, zero pages, damaged cross-reference
data, and the standard security handler at every revision pdfminer reads (RC4
40 and 128 bit, AES-128, AES-256) with a user password or an owner password
only. Fonts are the base-14 Helvetica or fonts described here without glyph
programs (extraction needs only encodings, widths and ToUnicode). Everything is
derived from the case name, so the bytes are the same on every run; the
encryption's keys, salts and IVs come from hashes, never from a random source.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pdfminer.arcfour import Arcfour

from etl_toolkit.pdf.synth import assemble

USER, OWNER = "user-pw", "owner-pw"
ENCRYPTION_REQUIRED = "encrypted PDF: a password is required (--password)"


class Name(str):
    """A PDF name (/Foo)."""


@dataclass(frozen=True)
class Ref:
    id: int


@dataclass
class Stream:
    attrs: dict[str, Any]
    data: bytes


Crypt = Callable[[bytes], bytes]


def _plain(data: bytes) -> bytes:
    return data


def _ser(value: Any, crypt: Crypt) -> bytes:
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, float):
        return (b"%.4f" % value).rstrip(b"0").rstrip(b".")
    if isinstance(value, Name):
        return b"/" + value.encode("ascii")
    if isinstance(value, Ref):
        return b"%d 0 R" % value.id
    if isinstance(value, bytes):  # strings are written in hex: no escaping, any bytes
        return b"<" + crypt(value).hex().encode("ascii") + b">"
    if isinstance(value, list):
        return b"[" + b" ".join(_ser(v, crypt) for v in value) + b"]"
    if isinstance(value, dict):
        return (
            b"<< "
            + b" ".join(b"/%s %s" % (k.encode("ascii"), _ser(v, crypt)) for k, v in value.items())
            + b" >>"
        )
    raise TypeError(f"no PDF form for {value!r}")


# ---- the standard security handler (ISO 32000-2, 7.6.4), deterministic ------------------------

PAD = bytes.fromhex("28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a")
PERMISSIONS = -4  # every permission bit set


def _padded(password: str) -> bytes:
    return (password.encode("latin-1") + PAD)[:32]


def _rc4(key: bytes, data: bytes) -> bytes:
    return bytes(Arcfour(key).encrypt(data))


def _aes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def _pkcs7(data: bytes) -> bytes:
    n = 16 - len(data) % 16
    return data + bytes([n]) * n


def _hash_r6(password: bytes, salt: bytes, udata: bytes = b"") -> bytes:
    """Algorithm 2.B (revision 6), written from the standard."""
    k = hashlib.sha256(password + salt + udata).digest()
    i = 0
    while True:
        k1 = (password + k + udata) * 64
        e = _aes_cbc(k[:16], k[16:32], k1)
        k = hashlib.new(("sha256", "sha384", "sha512")[int.from_bytes(e[:16]) % 3], e).digest()
        i += 1
        if i >= 64 and e[-1] <= i - 32:
            return k[:32]


@dataclass
class Security:
    """One /Encrypt dictionary and the per-object cipher that goes with it."""

    method: str  # rc4-40 | rc4-128 | aes-128 | aes-256
    user: str
    owner: str
    doc_id: bytes
    key: bytes = b""
    entries: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method == "aes-256":
            self._revision_6()
        else:
            self._revision_2_to_4()

    def _seed(self, label: str) -> bytes:
        return hashlib.sha256(self.doc_id + label.encode()).digest()

    def _revision_2_to_4(self) -> None:
        r, v, n = {"rc4-40": (2, 1, 5), "rc4-128": (3, 2, 16), "aes-128": (4, 4, 16)}[self.method]
        # Algorithm 3: /O hides the padded user password under a key from the owner password.
        okey = hashlib.md5(_padded(self.owner or self.user)).digest()
        if r >= 3:
            for _ in range(50):
                okey = hashlib.md5(okey).digest()
        okey = okey[:n]
        o = _rc4(okey, _padded(self.user))
        if r >= 3:
            for i in range(1, 20):
                o = _rc4(bytes(b ^ i for b in okey), o)
        # Algorithm 2: the file key.
        key = hashlib.md5(
            _padded(self.user) + o + struct.pack("<i", PERMISSIONS) + self.doc_id
        ).digest()
        if r >= 3:
            for _ in range(50):
                key = hashlib.md5(key[:n]).digest()
        self.key = key[:n]
        # Algorithms 4 and 5: /U proves the user password.
        if r == 2:
            u = _rc4(self.key, PAD)
        else:
            u = _rc4(self.key, hashlib.md5(PAD + self.doc_id).digest())
            for i in range(1, 20):
                u = _rc4(bytes(b ^ i for b in self.key), u)
            u += self._seed("u-pad")[:16]
        self.entries = {
            "Filter": Name("Standard"),
            "V": v,
            "R": r,
            "O": o,
            "U": u,
            "P": PERMISSIONS,
        }
        if r == 3:
            self.entries["Length"] = 128
        if r == 4:
            self.entries |= {
                "Length": 128,
                "CF": {
                    "StdCF": {
                        "CFM": Name("AESV2"),
                        "AuthEvent": Name("DocOpen"),
                        "Length": 16,
                    }
                },
                "StmF": Name("StdCF"),
                "StrF": Name("StdCF"),
            }

    def _revision_6(self) -> None:
        self.key = self._seed("file-key")
        uvs, uks, ovs, oks = (self._seed(s)[:8] for s in ("uvs", "uks", "ovs", "oks"))
        user, owner = self.user.encode("utf-8"), (self.owner or self.user).encode("utf-8")
        u = _hash_r6(user, uvs) + uvs + uks
        ue = _aes_cbc(_hash_r6(user, uks), bytes(16), self.key)
        o = _hash_r6(owner, ovs, u) + ovs + oks
        oe = _aes_cbc(_hash_r6(owner, oks, u), bytes(16), self.key)
        perms_plain = struct.pack("<i", PERMISSIONS) + b"\xff\xff\xff\xffTadb" + b"rand"
        perms = Cipher(algorithms.AES(self.key), modes.ECB()).encryptor().update(perms_plain)
        self.entries = {
            "Filter": Name("Standard"),
            "V": 5,
            "R": 6,
            "Length": 256,
            "O": o,
            "U": u,
            "OE": oe,
            "UE": ue,
            "P": PERMISSIONS,
            "Perms": perms,
            "CF": {"StdCF": {"CFM": Name("AESV3"), "AuthEvent": Name("DocOpen"), "Length": 32}},
            "StmF": Name("StdCF"),
            "StrF": Name("StdCF"),
        }

    def crypt(self, objid: int) -> Crypt:
        """The cipher for the strings and streams of object `objid` (generation 0)."""
        count = 0

        def iv() -> bytes:  # a fresh, reproducible IV for every string and stream
            nonlocal count
            count += 1
            return self._seed(f"iv-{objid}-{count}")[:16]

        if self.method == "aes-256":
            return lambda data: (v := iv()) + _aes_cbc(self.key, v, _pkcs7(data))
        salt = b"sAlT" if self.method == "aes-128" else b""
        okey = hashlib.md5(self.key + struct.pack("<i", objid)[:3] + b"\0\0" + salt).digest()
        okey = okey[: min(len(self.key) + 5, 16)]
        if self.method == "aes-128":
            return lambda data: (v := iv()) + _aes_cbc(okey, v, _pkcs7(data))
        return lambda data: _rc4(okey, data)


# ---- documents ---------------------------------------------------------------------------------


class Document:
    """Objects added in order (object numbers from 1), pages under one /Pages node."""

    def __init__(self) -> None:
        self.objects: list[Any] = [None, None]  # 1: catalog, 2: page tree
        self.kids: list[Ref] = []
        self.helvetica = self.add(
            {
                "Type": Name("Font"),
                "Subtype": Name("Type1"),
                "BaseFont": Name("Helvetica"),
                "Encoding": Name("WinAnsiEncoding"),
            }
        )

    def add(self, obj: Any) -> Ref:
        self.objects.append(obj)
        return Ref(len(self.objects))

    def page(
        self,
        content: bytes,
        fonts: dict[str, Ref] | None = None,
        *,
        mediabox: tuple[float, float, float, float] = (0, 0, 612, 792),
        rotate: int = 0,
        cropbox: tuple[float, float, float, float] | None = None,
    ) -> None:
        attrs: dict[str, Any] = {
            "Type": Name("Page"),
            "Parent": Ref(2),
            "MediaBox": [float(v) for v in mediabox],
            "Resources": {"Font": {"F1": self.helvetica, **(fonts or {})}},
            "Contents": self.add(Stream({}, content)),
        }
        if rotate:
            attrs["Rotate"] = rotate
        if cropbox:
            attrs["CropBox"] = [float(v) for v in cropbox]
        self.kids.append(self.add(attrs))

    def to_bytes(self, name: str, *, encrypt: tuple[str, str, str] | None = None) -> bytes:
        """The file; `encrypt` = (method, user password, owner password)."""
        doc_id = hashlib.md5(name.encode()).digest()
        objects = [
            {"Type": Name("Catalog"), "Pages": Ref(2)},
            {"Type": Name("Pages"), "Kids": self.kids, "Count": len(self.kids)},
            *self.objects[2:],
            {"Title": f"hard case {name}".encode(), "Producer": b"etl-toolkit tests/pdf_cases"},
        ]
        security = Security(encrypt[0], encrypt[1], encrypt[2], doc_id) if encrypt else None
        bodies = []
        for objid, obj in enumerate(objects, start=1):
            crypt = security.crypt(objid) if security else _plain
            if isinstance(obj, Stream):
                data = crypt(obj.data)
                bodies.append(
                    _ser({**obj.attrs, "Length": len(data)}, crypt)
                    + b"\nstream\n"
                    + data
                    + b"\nendstream"
                )
            else:
                bodies.append(_ser(obj, crypt))
        trailer = b"/Root 1 0 R /Info %d 0 R /ID [<%s> <%s>]" % (
            len(objects),
            doc_id.hex().encode(),
            doc_id.hex().encode(),
        )
        if security:
            bodies.append(_ser(security.entries, _plain))  # the /Encrypt dict is never encrypted
            trailer += b" /Encrypt %d 0 R" % len(bodies)
        return assemble(bodies, trailer)


def text(
    x: float, y: float, s: str, *, size: float = 12, matrix: str = "", font: str = "F1"
) -> bytes:
    """One text object in Helvetica (or `font` with `s` as hex codes); `matrix` = 'a b c d'."""
    code = s.encode("cp1252") if font == "F1" else bytes.fromhex(s)
    place = f"{matrix} {x} {y} Tm" if matrix else f"{x} {y} Td"
    return f"BT /{font} {size} Tf {place} <{code.hex()}> Tj ET\n".encode()


def lines(rows: Iterable[tuple[float, float, str]], size: float = 12, **kw: str) -> bytes:
    return b"".join(text(x, y, s, size=size, **kw) for x, y, s in rows)


def _tounicode(pairs: dict[int, str], width: int) -> Stream:
    """A ToUnicode CMap: code (of `width` bytes) -> text, one bfchar entry each."""
    digits = 2 * width
    body = "".join(
        f"<{code:0{digits}X}> <{ch.encode('utf-16-be').hex().upper()}>\n"
        for code, ch in sorted(pairs.items())
    )
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        f"1 begincodespacerange\n<{0:0{digits}X}> <{'F' * digits}>\nendcodespacerange\n"
        f"{len(pairs)} beginbfchar\n{body}endbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    )
    return Stream({}, cmap.encode())


# ---- the cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    pages: int  # the page count once loaded (with `password` when there is one)
    words: frozenset[str] = frozenset()  # words that must be among the stored ones
    password: str | None = None  # needed to open it; None: opens without one
    rotation: int = 0

    @property
    def filename(self) -> str:
        return f"{self.name}.pdf"


PARAGRAPH = "Revenue grew in every region while freight costs fell after renegotiation"


def _rotated() -> list[Case]:
    out = []
    for rotate in (90, 270):
        doc = Document()
        # Plain text on a rotated page (it runs vertically once displayed), and text
        # set with the page's inverse rotation (it reads upright once displayed).
        inverse = "0 1 -1 0" if rotate == 90 else "0 -1 1 0"
        doc.page(
            lines([(72, 700, "Shipments by region"), (72, 680, "North 1,200 South 980")])
            + text(300, 100 if rotate == 90 else 500, "Landscape table heading", matrix=inverse),
            rotate=rotate,
        )
        words = {"Shipments", "1,200", "Landscape"}
        if rotate == 270:  # the reference reads such text from the displayed top: backwards
            words = {"stnempihS", "002,1", "Landscape"}
        data = doc.to_bytes(f"rotate-{rotate}")
        out.append(Case(f"rotate-{rotate}", data, 1, frozenset(words), rotation=rotate))
    # A CropBox at an offset inside a MediaBox that does not start at the origin.
    doc = Document()
    doc.page(
        lines([(120, 500, "Bundesministerium des Innern"), (120, 470, "Referat Z I 2")]),
        mediabox=(20, 30, 920, 630),
        cropbox=(100, 90, 880, 600),
        rotate=270,
    )
    out.append(
        Case(
            "rotate-270-cropbox",
            doc.to_bytes("rotate-270-cropbox"),
            1,
            frozenset({"muiretsinimsednuB", "tarefeR"}),
            rotation=270,
        )
    )
    return out


def _text_directions() -> Case:
    doc = Document()
    matrices = {
        "vertical, bottom to top": "0 1 -1 0",
        "vertical, top to bottom": "0 -1 1 0",
        "mirrored left to right": "-1 0 0 1",
        "mirrored upside down": "1 0 0 -1",
        "turned half round": "-1 0 0 -1",
    }
    for matrix in matrices.values():
        doc.page(
            text(300, 400, "Quarterly totals by region", matrix=matrix)
            + text(320, 400, "West 2,310 units", matrix=matrix)
            + text(72, 72, "footer upright")
        )
    return Case("text-directions", doc.to_bytes("text-directions"), 5, frozenset({"footer"}))


def _text_state() -> Case:
    """Text state that moves or scales glyphs: spacing, scaling (a negative one mirrors), rise."""
    doc = Document()
    # Text state outlives BT/ET, so every line resets what the previous one set.
    reset = b"0 Tc 0 Tw 100 Tz 0 Ts 0 Tr "
    doc.page(
        b"".join(
            b"BT /F1 11 Tf %s %s ET\n" % (reset, ops)
            for ops in [
                b"72 700 Td 2 Tc (spaced out) Tj",
                b"72 680 Td 12 Tw (wide word gaps) Tj",
                b"72 660 Td 160 Tz (stretched) Tj 40 Tz ( squeezed) Tj",
                b"72 620 Td (E=mc) Tj 5 Ts (2) Tj -4 Ts (low) Tj",
                b"72 600 Td [(Kern)-400(ed)-150(TJ)] TJ",
                b"72 580 Td 3 Tr (invisible layer) Tj",
                b"300 640 Td -100 Tz (backwards) Tj",
            ]
        )
    )
    words = {"wide", "stretched", "squeezed", "E=mc", "Kern", "invisible"}
    return Case("text-state", doc.to_bytes("text-state"), 1, frozenset(words))


def _duplicates() -> Case:
    doc = Document()
    # Fake bold: every glyph drawn twice at the same place (corpus: issue-71).
    doc.page(
        b"".join(text(72, 700 - 20 * i, s) * 2 for i, s in enumerate(["Total 2020.01", "bold"]))
    )
    return Case("duplicate-chars", doc.to_bytes("duplicate-chars"), 1, frozenset({"TToottaall"}))


def _ligatures() -> Case:
    doc = Document()
    font = doc.add(
        {
            "Type": Name("Font"),
            "Subtype": Name("Type1"),
            "BaseFont": Name("Helvetica"),
            "Encoding": {
                "Type": Name("Encoding"),
                "BaseEncoding": Name("WinAnsiEncoding"),
                "Differences": [0x80, Name("fi"), Name("fl")],
            },
            "ToUnicode": doc.add(_tounicode({0x80: "\ufb01", 0x81: "\ufb02"}, 1)),
        }
    )

    def lig(s: str) -> str:  # the text as codes, with fi and fl as single glyphs
        return s.replace("fi", "\x80").replace("fl", "\x81").encode("latin-1").hex()

    doc.page(
        lines(
            [(72, 700, lig("the conflict over workflow")), (72, 680, lig("find the fine print"))],
            font="F2",
        ),
        {"F2": font},
    )
    words = {"conflict", "workflow", "find", "fine"}
    return Case("ligatures", doc.to_bytes("ligatures"), 1, frozenset(words))


CJK = "项目测试数据合计"


def _cid_font(doc: Document, encoding: str) -> Ref:
    """A Type0 font; Identity-H/V codes are CIDs 1..n (CJK, then ASCII 0x20-0x7E at 100+)."""
    descriptor = doc.add(
        {
            "Type": Name("FontDescriptor"),
            "FontName": Name("SynthCJK"),
            "Flags": 4,
            "FontBBox": [0, -120, 1000, 880],
            "ItalicAngle": 0,
            "Ascent": 880,
            "Descent": -120,
            "CapHeight": 700,
            "StemV": 80,
        }
    )
    predefined = not encoding.startswith("Identity")
    cidfont = doc.add(
        {
            "Type": Name("Font"),
            "Subtype": Name("CIDFontType2" if not predefined else "CIDFontType0"),
            "BaseFont": Name("SynthCJK"),
            "CIDSystemInfo": {
                "Registry": b"Adobe",
                "Ordering": b"GB1" if predefined else b"Identity",
                "Supplement": 2 if predefined else 0,
            },
            "FontDescriptor": descriptor,
            "DW": 1000,
            "W": [100, [278] * 95],
        }
    )
    font: dict[str, Any] = {
        "Type": Name("Font"),
        "Subtype": Name("Type0"),
        "BaseFont": Name("SynthCJK"),
        "Encoding": Name(encoding),
        "DescendantFonts": [cidfont],
    }
    if not predefined:
        pairs = {i + 1: ch for i, ch in enumerate(CJK)} | {
            100 + c - 32: chr(c) for c in range(32, 127)
        }
        font["ToUnicode"] = doc.add(_tounicode(pairs, 2))
    return doc.add(font)


def cid_codes(s: str) -> str:
    """`s` as Identity-H/V codes of the font made by `_cid_font`."""
    return "".join(f"{CJK.index(ch) + 1 if ch in CJK else 100 + ord(ch) - 32:04x}" for ch in s)


def _cid() -> list[Case]:
    doc = Document()
    h, v = _cid_font(doc, "Identity-H"), _cid_font(doc, "Identity-V")
    doc.page(
        lines(
            [(72, 700, cid_codes("项目 2020.01 测试")), (72, 670, cid_codes("合计 total"))],
            font="F2",
        )
        + lines([(300, 600, cid_codes("数据 vertical"))], font="F3"),
        {"F2": h, "F3": v},
    )
    identity = Case(
        "cid-identity", doc.to_bytes("cid-identity"), 1, frozenset({"项目", "2020.01", "total"})
    )
    doc = Document()
    gb = _cid_font(doc, "UniGB-UCS2-H")
    ucs2 = "".join(f"{ord(ch):04x}" for ch in "测试 数据")
    # Twice at the same place, as well: CJK fake bold (corpus: issue-71-duplicate-chars).
    doc.page(lines([(72, 700, ucs2), (72, 700, ucs2), (72, 650, ucs2)], font="F2"), {"F2": gb})
    predefined = Case(
        "cid-predefined-cmap",
        doc.to_bytes("cid-predefined-cmap"),
        1,
        frozenset({"测测试试", "测试"}),
    )
    return [identity, predefined]


def _columns() -> Case:
    doc = Document()
    words = PARAGRAPH.split()
    left = [(72.0, 700.0 - 16 * i, " ".join(words[i * 3 : i * 3 + 3])) for i in range(4)]
    right = [
        (320.0, 700.0 - 16 * i, " ".join(reversed(words[i * 3 : i * 3 + 3]))) for i in range(4)
    ]
    doc.page(lines(left + right, size=10))
    return Case("two-columns", doc.to_bytes("two-columns"), 1, frozenset(words[:12]))


def _sizes() -> list[Case]:
    tiny = Document()
    tiny.page(text(1, 4, "ok", size=3), mediabox=(0, 0, 10, 10))
    huge = Document()
    huge.page(
        text(10, 14380, "top-left corner")
        + text(14300, 10, "far corner")
        + text(7000, 7200, "middle"),
        mediabox=(0, 0, 14400, 14400),
    )
    return [
        Case("tiny-page", tiny.to_bytes("tiny-page"), 1, frozenset({"ok"})),
        Case("huge-page", huge.to_bytes("huge-page"), 1, frozenset({"top-left", "far", "middle"})),
    ]


def _odd_boxes_and_glyphs() -> list[Case]:
    # An inverted MediaBox: the reference keeps the boxes pdfminer's page matrix gives,
    # off the page (corpus: malformed-from-issue-932).
    inverted = Document()
    inverted.page(text(72, 300, "upside box"), mediabox=(0, 841.7, 631.1, 0))
    # Pages drawn with paths only: stored, with no words (corpus: issue-203-decimalize).
    vector = Document()
    for i in range(3):
        vector.page(b"0 0 1 RG 2 w %d 100 m 500 700 l S 100 100 300 200 re f\n" % (50 + i))
    # Blank glyphs drawn over digits split them (corpus: WARN-Report), a zero-width glyph
    # (x0 == x1) and a hyphenated fragment kept as it is (corpus: federal-register).
    glyphs = Document()
    zero = glyphs.add(
        {
            "Type": Name("Font"),
            "Subtype": Name("TrueType"),
            "BaseFont": Name("SynthSans"),
            "FirstChar": 65,
            "LastChar": 66,
            "Widths": [600, 0],
            "FontDescriptor": glyphs.add(
                {
                    "Type": Name("FontDescriptor"),
                    "FontName": Name("SynthSans"),
                    "Flags": 32,
                    "FontBBox": [0, -200, 1000, 900],
                    "ItalicAngle": 0,
                    "Ascent": 900,
                    "Descent": -200,
                    "CapHeight": 700,
                    "StemV": 80,
                }
            ),
            "ToUnicode": glyphs.add(_tounicode({65: "A", 66: "\u25a0"}, 1)),
        }
    )
    date = "09/18/2015"
    glyphs.page(
        text(72, 700, date)
        + b"".join(text(72 + 6.67 * i + 3, 700, " ") for i in range(len(date)))
        + lines([(72, 650, "4142"), (72, 630, "4241")], font="F2")
        + text(72, 600, "the regu- lation")
        + text(72, 588, "lation continues"),
        {"F2": zero},
    )
    return [
        Case("inverted-mediabox", inverted.to_bytes("inverted-mediabox"), 1, frozenset({"upside"})),
        Case("no-text-layer", vector.to_bytes("no-text-layer"), 3),
        Case(
            "blank-and-zero-width-glyphs",
            glyphs.to_bytes("blank-and-zero-width-glyphs"),
            1,
            frozenset({"regu-", "A\u25a0"}),
        ),
    ]


def _no_tounicode() -> Case:
    """Glyph names with no Unicode value and no ToUnicode: the text is `(cid:N)` (issue-316's
    math fonts)."""
    doc = Document()
    font = doc.add(
        {
            "Type": Name("Font"),
            "Subtype": Name("Type1"),
            "BaseFont": Name("Helvetica"),
            "Encoding": {
                "Type": Name("Encoding"),
                "Differences": [1, Name("g17"), Name("g42"), Name("uni2211")],
            },
        }
    )
    doc.page(
        text(72, 700, "sum")
        + text(100, 700, "010203", font="F2")
        + text(72, 680, "010203", font="F2"),
        {"F2": font},
    )
    words = frozenset({"sum", "(cid:1)(cid:2)\u2211"})
    return Case("no-tounicode", doc.to_bytes("no-tounicode"), 1, words)


def _zero_pages() -> Case:
    return Case("zero-pages", Document().to_bytes("zero-pages"), 0)


def _damaged() -> list[Case]:
    def one_page(name: str) -> bytes:
        doc = Document()
        doc.page(text(72, 700, "recovered text"))
        return doc.to_bytes(name)

    # Every xref entry points 7 bytes past its object (corpus: issue-297-example).
    data = one_page("damaged-xref-offsets")
    shifted = re.sub(
        rb"(\d{10}) 00000 n",
        lambda m: b"%010d 00000 n" % (int(m.group(1)) + 7),
        data,
    )
    # startxref points into the middle of an object: no xref table at all.
    data2 = one_page("damaged-startxref")
    broken = re.sub(rb"startxref\n\d+", b"startxref\n40", data2)
    return [
        Case("damaged-xref-offsets", shifted, 0),
        Case("damaged-startxref", broken, 1, frozenset({"recovered", "text"})),
    ]


ENCRYPTIONS = ("rc4-40", "rc4-128", "aes-128", "aes-256")


def _encrypted() -> list[Case]:
    out = []
    for method in ENCRYPTIONS:
        for owner_only in (False, True):
            name = f"{method}-{'owner-only' if owner_only else 'user-password'}"
            doc = Document()
            doc.page(lines([(72, 700, "Confidential payroll"), (72, 680, "Total 4,210.50")]))
            doc.page(text(72, 700, "Second page"))
            user = "" if owner_only else USER
            data = doc.to_bytes(name, encrypt=(method, user, OWNER))
            words = frozenset({"Confidential", "4,210.50", "Second"})
            out.append(Case(name, data, 2, words, password=None if owner_only else USER))
    return out


def all_cases() -> list[Case]:
    return [
        *_rotated(),
        _text_directions(),
        _text_state(),
        _duplicates(),
        _ligatures(),
        *_cid(),
        _columns(),
        *_sizes(),
        *_odd_boxes_and_glyphs(),
        _no_tounicode(),
        _zero_pages(),
        *_damaged(),
        *_encrypted(),
    ]


def write_cases(folder: Path) -> dict[str, Path]:
    """Every case into `folder`; name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for case in all_cases():
        path = folder / case.filename
        path.write_bytes(case.data)
        out[case.name] = path
    return out
