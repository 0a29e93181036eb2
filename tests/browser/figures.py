"""How large a figure's smallest text is where a reader sees it.

Text size on the screen = the text's size in the image x how much the page scales the image:

- a matplotlib figure (a PNG of a chapter's output): ``points x dpi / 72`` image pixels, the
  dpi read from the PNG (matplotlib writes it in the ``pHYs`` chunk), the points from the
  chapter's figure code (``smallest_text_points``: every font size the code sets, matplotlib's
  defaults otherwise);
- an SVG (the architecture diagrams): the smallest font size of its text in user units (a
  percentage, as subscripts use, of the text it sits in), against the width of its ``viewBox``.

The page's scale is the displayed CSS width over the image's own width (measured in the
browser, tests/browser/interaction.py). ``FLOOR_PT`` is the smallest font size figure code may
use; site.js shows every PNG figure at least at ``natural width x 72 / dpi`` CSS px (one point,
one CSS pixel), so on any screen its text is at least ``FLOOR_PT`` CSS px, scrolling sideways
inside its box on a phone when the figure is wider than the column.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

LEGIBLE_PX = 7  # the smallest text a reader should have to read, in CSS px
FLOOR_PT = 7  # the smallest font size figure code may set, in points
DEFAULT_PT = 10.0  # matplotlib's font.size; every default text size is "medium" or larger
SCALINGS = {  # matplotlib.font_manager.font_scalings
    "xx-small": 0.579, "x-small": 0.694, "small": 0.833, "medium": 1.0,
    "large": 1.200, "x-large": 1.440, "xx-large": 1.728, "larger": 1.2, "smaller": 0.833,
}
SIZE_KEYWORDS = {"fontsize", "labelsize", "titlesize", "size"}
# Calls whose `size=` keyword is a font size (elsewhere `size=` is, say, a sample count).
TEXT_CALLS = {
    "text", "annotate", "set_title", "title", "suptitle", "set_xlabel", "set_ylabel", "xlabel",
    "ylabel", "legend", "tick_params", "set_xticks", "set_yticks", "set_xticklabels",
    "set_yticklabels", "colorbar", "label", "set_label", "clabel", "table", "supxlabel", "supylabel",
}
FIGURE_CALL = re.compile(r"\b(plt\.(subplots|figure|imshow|plot)|fig\.|ax\.|axes\[)")


class UnknownSize(ValueError):
    """A font size the code computes: state it as a number so that it can be checked."""


def _points(node: ast.AST, names: dict[str, ast.AST]) -> float:
    if isinstance(node, ast.Name) and node.id in names:
        return _points(names[node.id], names)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in SCALINGS:
        return DEFAULT_PT * SCALINGS[node.value]
    raise UnknownSize(ast.unparse(node))


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def text_sizes(source: str) -> list[float]:
    """Every font size (points) that this cell's code sets; raises UnknownSize for one it computes."""
    tree = ast.parse(source)
    names = {target.id: node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
             for target in node.targets if isinstance(target, ast.Name)}
    sizes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            text_call = _call_name(node) in TEXT_CALLS
            for keyword in node.keywords:
                if keyword.arg in ("fontsize", "labelsize", "titlesize") or (keyword.arg == "size" and text_call):
                    sizes.append(_points(keyword.value, names))
                elif keyword.arg in ("fontdict", "prop", "textprops") and isinstance(keyword.value, ast.Dict):
                    for key, value in zip(keyword.value.keys, keyword.value.values):
                        if isinstance(key, ast.Constant) and key.value in ("size", "fontsize"):
                            sizes.append(_points(value, names))
            if _call_name(node) in ("set_fontsize", "set_size") and node.args:
                sizes.append(_points(node.args[0], names))
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "rcParams" and "size" in ast.unparse(node.slice):
            raise UnknownSize(f"{ast.unparse(node)}: set font sizes where the text is drawn")
    return sizes


def figure_cells(notebook: Path) -> list[tuple[int, str]]:
    """(index, source) of every code cell that draws with matplotlib."""
    cells = nbformat.read(notebook, as_version=4).cells
    return [(index, cell.source) for index, cell in enumerate(cells)
            if cell.cell_type == "code" and FIGURE_CALL.search(cell.source) and "plt." in cell.source]


def smallest_text_points(notebook: Path) -> float:
    """The smallest font size any figure of the notebook uses (matplotlib's default text is 10 pt)."""
    sizes = [DEFAULT_PT]
    for _, source in figure_cells(notebook):
        sizes += text_sizes(source)
    return min(sizes)


def png_dpi(path: Path) -> float:
    """The dpi matplotlib wrote into the PNG (its pHYs chunk)."""
    from PIL import Image

    with Image.open(path) as image:
        dpi = image.info.get("dpi")
    if not dpi:
        raise ValueError(f"{path} states no dpi: was it written by matplotlib?")
    return float(dpi[0])


def svg_smallest_text(path: Path) -> tuple[float, float]:
    """(smallest font size of any text, viewBox width) of an SVG, both in its user units; a
    percentage (a subscript's ``font-size="75%"``) is taken of the size of the text it sits in."""
    from xml.etree import ElementTree

    root = ElementTree.parse(path).getroot()
    view_box = (root.get("viewBox") or "").split()
    sizes = []

    def walk(element, inherited: float) -> None:
        size = inherited
        stated = element.get("font-size") or ""
        if stated.endswith("%"):
            size = inherited * float(stated[:-1]) / 100
        elif stated:
            size = float(stated.removesuffix("px"))
        if (element.text or "").strip() or any((child.tail or "").strip() for child in element):
            sizes.append(size)  # text of its own (a child's tail is its parent's text)
        for child in element:
            walk(child, size)

    walk(root, 16.0)  # a browser's default font size, for text that states none
    if not sizes or len(view_box) != 4:
        raise ValueError(f"{path}: no text or no viewBox to measure")
    return min(sizes), float(view_box[2])
