"""Write the annotated Transformer diagram, _static/architecture.svg, and its chapter variants.

The diagram is drawn by hand: every box, arrow and label is placed below with explicit
coordinates, so the SVG is small, diffable and has real text (searchable, crisp on any
screen). Each attention block states where its queries and its keys/values come from, its
mask and its shapes. The variants highlight the blocks a chapter builds and fade the rest:

    architecture-ch1.svg  encoder self-attention (chapter 1)
    architecture-ch2.svg  cross-attention (chapter 2)
    architecture-ch3.svg  masked (causal) self-attention (chapter 3)
    architecture-ch4.svg  all three (chapter 4)

The figure sits on an opaque white card, like every other figure of the book, so it reads the
same on the light and on the dark page (tests/browser checks figures for an opaque light edge).

Usage::

    python tools/make_architecture.py          # (re)write the five SVG files
    python tools/make_architecture.py --check  # exit 1 if one is out of date
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "_static"

WIDTH, HEIGHT = 900, 640
INK = "#1a1a1a"
MUTED = "#4d4d4d"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

# One colour per kind of attention, the same in every chapter's figure.
COLOURS = {
    "encoder": {"fill": "#fde3cc", "stroke": "#b3541e"},  # self-attention
    "cross": {"fill": "#e9defa", "stroke": "#6a3fa0"},  # cross-attention
    "causal": {"fill": "#d8e8f8", "stroke": "#1f5fa8"},  # masked self-attention
}
NORM = {"fill": "#fbf3c4", "stroke": "#8a7a18"}
FFN = {"fill": "#d9f0dc", "stroke": "#2f7a3a"}
EMBED = {"fill": "#f0f0f0", "stroke": "#666666"}

ENC_X, DEC_X, BOX_W = 60, 510, 330  # left edges of the two columns' boxes, box width

ATTENTION = {
    "encoder": {
        "x": ENC_X,
        "y": 372,
        "title": "Multi-head self-attention",
        "lines": [
            "Q, K, V: the source sequence",
            "mask: padding (source keys)",
            "in, out: (B, n_src, d_model)",
            "weights: (B, h, n_src, n_src)",
        ],
    },
    "causal": {
        "x": DEC_X,
        "y": 372,
        "title": "Masked multi-head self-attention",
        "lines": [
            "Q, K, V: the target sequence",
            "mask: causal (+ target padding)",
            "in, out: (B, n_tgt, d_model)",
            "weights: (B, h, n_tgt, n_tgt)",
        ],
    },
    "cross": {
        "x": DEC_X,
        "y": 210,
        "title": "Multi-head cross-attention",
        "lines": [
            "Q: the decoder; K, V: the memory",
            "mask: padding (source keys)",
            "in, out: (B, n_tgt, d_model)",
            "weights: (B, h, n_tgt, n_src)",
        ],
    },
}
ATT_H = 108

VARIANTS = {
    "architecture.svg": None,  # no highlight: everything at full strength
    "architecture-ch1.svg": {"encoder"},
    "architecture-ch2.svg": {"cross"},
    "architecture-ch3.svg": {"causal"},
    "architecture-ch4.svg": {"encoder", "cross", "causal"},
}

TITLE = "The Transformer encoder-decoder and its three attention blocks"
DESCRIPTION = (
    "Left, the encoder: source tokens of shape (B, n_src) are embedded with positions, then "
    "N layers each apply multi-head self-attention (queries, keys and values from the source, "
    "padding mask) and a feed-forward network, each followed by add and norm. Its output, the "
    "memory of shape (B, n_src, d_model), feeds the decoder. Right, the decoder: target tokens "
    "shifted right, of shape (B, n_tgt), are embedded, then N layers each apply masked "
    "multi-head self-attention (queries, keys and values from the target, causal mask), "
    "cross-attention (queries from the decoder, keys and values from the memory, source "
    "padding mask) and a feed-forward network. A linear layer and softmax give next-token "
    "probabilities of shape (B, n_tgt, n_vocab)."
)
FOCUS = {
    "encoder": "Highlighted: the encoder's self-attention (chapter 1); the others are faded.",
    "cross": "Highlighted: cross-attention, queries from the decoder and keys and values from "
    "the encoder's memory (chapter 2); the others are faded.",
    "causal": "Highlighted: the decoder's masked (causal) self-attention (chapter 3); the "
    "others are faded.",
}

_SUBSCRIPT = re.compile(r"\b([ndBh])_([a-z]+)\b")


def rich(text: str) -> str:
    """Escape ``text`` and typeset n_src, d_model ... as a letter with a subscript."""
    escaped = html.escape(text, quote=False)
    return _SUBSCRIPT.sub(
        r'<tspan font-style="italic">\1</tspan>'
        r'<tspan baseline-shift="sub" font-size="75%">\2</tspan>',
        escaped,
    )


def text(x, y, content, *, size=12.5, weight="normal", anchor="start", fill=INK, style=""):
    extra = f' font-style="{style}"' if style else ""
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" '
        f'text-anchor="{anchor}" fill="{fill}"{extra}>{rich(content)}</text>'
    )


def box(x, y, w, h, colours, *, stroke_width=1.5, radius=6):
    return (
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{radius}" '
        f'fill="{colours["fill"]}" stroke="{colours["stroke"]}" '
        f'stroke-width="{stroke_width}"/>'
    )


def arrow(d, *, colour=MUTED, width=1.6, dashed=False):
    dash = ' stroke-dasharray="5 4"' if dashed else ""
    return (
        f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{dash} '
        f'marker-end="url(#arrowhead)"/>'
    )


def line(d, *, colour=MUTED, width=1.4):
    return f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"/>'


def simple_block(x, y, h, label, colours):
    return [box(x, y, BOX_W, h, colours), text(x + BOX_W / 2, y + h / 2 + 4.5, label,
                                                size=13, anchor="middle")]


def attention_block(name, highlight):
    spec = ATTENTION[name]
    x, y = spec["x"], spec["y"]
    colours = COLOURS[name]
    strong = highlight is not None and name in highlight
    parts = [box(x, y, BOX_W, ATT_H, colours, stroke_width=3.2 if strong else 1.6)]
    parts.append(text(x + 14, y + 22, spec["title"], size=14.5, weight="bold"))
    for index, content in enumerate(spec["lines"]):
        parts.append(text(x + 14, y + 42 + 18 * index, content, size=12.5))
    return parts


def faded(name, highlight) -> bool:
    return highlight is not None and name not in highlight


def group(parts, *, opacity=1.0):
    attribute = f' opacity="{opacity}"' if opacity < 1 else ""
    return [f"<g{attribute}>", *parts, "</g>"]


def residual(x_side, y_from, y_to, x_box_edge, cx):
    """A residual connection: from the stream at (cx, y_from) round the side to an add & norm."""
    return arrow(f"M {cx} {y_from} H {x_side} V {y_to} H {x_box_edge}", width=1.3)


def self_attention_inputs(x, y_bottom, y_split):
    """The stream entering a self-attention block from below, split into Q, K and V."""
    cx = x + BOX_W / 2
    parts = [line(f"M {cx} {y_split + 16} V {y_split}")]
    for offset, label in ((-70, "Q"), (0, "K"), (70, "V")):
        parts.append(arrow(f"M {cx} {y_split} H {cx + offset} V {y_bottom + 2}"))
        parts.append(text(cx + offset + 6, y_split + 13, label, size=12, weight="bold",
                          style="italic"))
    return parts


def diagram(highlight: set[str] | None, focus: str | None) -> str:
    enc_cx, dec_cx = ENC_X + BOX_W / 2, DEC_X + BOX_W / 2
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="title desc" '
        f'font-family="{FONT}">'),
        f'<title id="title">{html.escape(TITLE)}</title>',
        f'<desc id="desc">{html.escape(DESCRIPTION + (" " + focus if focus else ""))}</desc>',
        "<defs>",
        ('<marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        f'fill="{MUTED}"/></marker>'),
        "</defs>",
        # The opaque card: the figure reads the same on a light and on a dark page.
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]

    # Frames of the two stacks of N identical layers.
    out.append('<rect x="32" y="226" width="386" height="276" rx="10" fill="none" '
               'stroke="#9a9a9a" stroke-width="1.2" stroke-dasharray="6 4"/>')
    out.append('<rect x="482" y="70" width="386" height="432" rx="10" fill="none" '
               'stroke="#9a9a9a" stroke-width="1.2" stroke-dasharray="6 4"/>')
    out.append(text(44, 244, "Encoder layer, × N", size=13, weight="bold", fill=MUTED))
    out.append(text(494, 88, "Decoder layer, × N", size=13, weight="bold", fill=MUTED))

    # Inputs at the bottom: tokens, embedding and positional encoding.
    out += simple_block(ENC_X, 528, 34, "Embedding + positional encoding", EMBED)
    out += simple_block(DEC_X, 528, 34, "Embedding + positional encoding", EMBED)
    out.append(arrow(f"M {enc_cx} 596 V 564"))
    out.append(arrow(f"M {dec_cx} 596 V 564"))
    out.append(text(enc_cx, 614, "source tokens (B, n_src)", size=13, anchor="middle"))
    out.append(text(dec_cx, 614, "target tokens, shifted right (B, n_tgt)", size=13,
                    anchor="middle"))
    out.append(line(f"M {enc_cx} 528 V 500"))
    out.append(line(f"M {dec_cx} 528 V 500"))

    # Encoder layer: self-attention, add & norm, feed-forward, add & norm.
    out += group(self_attention_inputs(ENC_X, 480, 486) + attention_block("encoder", highlight),
                 opacity=0.4 if faded("encoder", highlight) else 1.0)
    out.append(line(f"M {enc_cx} 500 V 502"))
    out += simple_block(ENC_X, 336, 26, "Add & norm", NORM)
    out.append(arrow(f"M {enc_cx} 372 V 364"))
    out.append(residual(46, 494, 349, ENC_X - 1, enc_cx))
    out += simple_block(ENC_X, 288, 30, "Feed-forward network", FFN)
    out.append(arrow(f"M {enc_cx} 336 V 320"))
    out.append(residual(46, 328, 267, ENC_X - 1, enc_cx))
    out += simple_block(ENC_X, 254, 26, "Add & norm", NORM)
    out.append(arrow(f"M {enc_cx} 288 V 282"))

    # The memory: the encoder's output, keys and values of every cross-attention.
    memory = faded("cross", highlight) and faded("encoder", highlight)
    out += group([
        arrow(f"M {enc_cx} 254 V 170 H 462 V 262 H {DEC_X - 2}", colour=COLOURS["cross"]["stroke"],
              width=2.2),
        text(enc_cx + 10, 150, "memory (B, n_src, d_model)", size=13, weight="bold",
             fill=COLOURS["cross"]["stroke"]),
        text(enc_cx + 10, 166, "the encoder's output, computed once", size=12, fill=MUTED),
        text(466, 254, "K, V", size=12, weight="bold", style="italic",
             fill=COLOURS["cross"]["stroke"]),
    ], opacity=0.45 if memory else 1.0)

    # Decoder layer: masked self-attention, add & norm, cross-attention, add & norm, FFN, add & norm.
    out += group(self_attention_inputs(DEC_X, 480, 486) + attention_block("causal", highlight),
                 opacity=0.4 if faded("causal", highlight) else 1.0)
    right = DEC_X + BOX_W
    out += simple_block(DEC_X, 336, 26, "Add & norm", NORM)
    out.append(arrow(f"M {dec_cx} 372 V 364"))
    out.append(residual(854, 494, 349, right + 1, dec_cx))
    out += group(attention_block("cross", highlight) + [
        arrow(f"M {dec_cx} 336 V {210 + ATT_H + 2}"),
        text(dec_cx + 6, 333, "Q", size=12, weight="bold", style="italic"),
    ], opacity=0.4 if faded("cross", highlight) else 1.0)
    out.append(residual(854, 328, 184, right + 1, dec_cx))
    out += simple_block(DEC_X, 172, 24, "Add & norm", NORM)
    out.append(arrow(f"M {dec_cx} 210 V 198"))
    out += simple_block(DEC_X, 134, 30, "Feed-forward network", FFN)
    out.append(arrow(f"M {dec_cx} 172 V 166"))
    out.append(residual(854, 204, 112, right + 1, dec_cx))
    out += simple_block(DEC_X, 100, 24, "Add & norm", NORM)
    out.append(arrow(f"M {dec_cx} 134 V 126"))

    # Output head.
    out += simple_block(DEC_X, 26, 28, "Linear + softmax", EMBED)
    out.append(arrow(f"M {dec_cx} 100 V 56"))
    out.append(text(dec_cx, 17, "next-token probabilities (B, n_tgt, n_vocab)", size=13,
                    anchor="middle"))

    # Legend: the three masks, in words.
    out.append(text(32, 40, "Masks (True = may attend):", size=13, weight="bold"))
    out.append(text(32, 60, "padding: no query attends to a padded key", size=12.5))
    out.append(text(32, 78, "causal: position i attends to positions ≤ i only", size=12.5))
    out.append(text(32, 96, "B batch, h heads, n lengths, d widths", size=12.5, fill=MUTED))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def generate() -> dict[Path, str]:
    files = {}
    for name, highlight in VARIANTS.items():
        focus = None
        if highlight and len(highlight) == 1:
            focus = FOCUS[next(iter(highlight))]
        elif highlight:
            focus = "All three attention blocks highlighted (chapter 4)."
        files[STATIC / name] = diagram(highlight, focus)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, content in generate().items():
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != content:
                stale.append(path.relative_to(ROOT).as_posix())
        else:
            path.write_text(content, encoding="utf-8")
    if stale:
        print("out of date (run python tools/make_architecture.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
