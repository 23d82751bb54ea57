"""Per-reader filling of a compiled skeleton, including the pre-encoded quoted-printable path."""

from __future__ import annotations

import binascii

from digest.render.slots import SlotMarkers, as_text, escape_html


def test_fill_qp_decodes_to_fill_with_short_crlf_lines() -> None:
    slot = SlotMarkers()
    rendered = (
        "<p>Bonjour " + slot.name + ", voilà " + "é" * 120 + " \n"
        + "x" * 200 + '<a href="' + slot.unsubscribe_url + '">désabonner</a>  \n'
        + "." + slot.preferences_url + "\r\nfin "
    )  # fmt: skip
    skeleton = slot.split(rendered, escape_html)
    values = {"name": "Zoë <&>", "unsubscribe_url": "https://e.org/u?a=1&b=" + "t" * 90,
              "preferences_url": ""}  # fmt: skip
    encoded = skeleton.fill_qp(values)
    assert b"\n" not in encoded.replace(b"\r\n", b"")
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    expected = skeleton.fill(values).replace("\r\n", "\n").replace("\n", "\r\n")
    assert binascii.a2b_qp(encoded).decode("utf-8") == expected
    assert "Zoë &lt;&amp;&gt;" in expected


def test_text_skeleton_keeps_values_verbatim() -> None:
    slot = SlotMarkers()
    skeleton = slot.split(f"Hello {slot.name}!\n", as_text)
    assert skeleton.fill({"name": "<b>A & B</b>"}) == "Hello <b>A & B</b>!\n"
    assert binascii.a2b_qp(skeleton.fill_qp({"name": "Ä"})) == "Hello Ä!\r\n".encode()


def test_pieces_never_exceed_76_columns_whatever_their_length() -> None:
    import binascii

    from digest.render.slots import quoted_printable_piece

    for size in range(60, 200):
        for filler in ("a", "é", "a=", " "):
            text = (filler * size)[:size]
            encoded = quoted_printable_piece(text)
            assert all(len(line) <= 76 for line in encoded.split(b"\r\n")), (size, filler)
            assert encoded.endswith(b"\r\n")
            assert binascii.a2b_qp(encoded).decode("utf-8") == text
