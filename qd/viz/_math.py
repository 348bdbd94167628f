"""LaTeX math drawn as SVG on this machine, for pages that must not load a script library.

matplotlib's mathtext reads the subset of TeX that formulas need (fractions, roots,
powers, ``\\sin``, ``\\left( \\right)``, ``\\operatorname``) and writes glyphs as paths, so
the SVG shows the same in any browser, with no font, network or JavaScript. A formula of
a symbolic-regression elite is 13 to 20 KB embedded (base64; the 12 best of a Koza-1 run:
211 KB of a 536 KB page).
"""

from __future__ import annotations

import base64
import io

__all__ = ["is_math", "math_svg"]


def is_math(text: str) -> bool:
    """Whether ``text`` is LaTeX math to draw: it starts and ends with ``$``."""
    return len(text) >= 3 and text.startswith("$") and text.endswith("$")


def math_svg(text: str) -> str:
    """``text`` (``$...$``, mathtext's TeX subset) drawn as an SVG ``data:`` URI.

    Raises:
        ValueError: mathtext cannot read ``text``; the message quotes it and says why.
    """
    from matplotlib import mathtext

    buffer = io.BytesIO()
    try:
        mathtext.math_to_image(text, buffer, format="svg", dpi=100)
    except Exception as error:  # mathtext raises ValueError, or its parser's own errors
        raise ValueError(
            f"matplotlib's mathtext cannot draw {text[:200]!r}: {str(error).splitlines()[0]}; "
            "use the TeX subset it reads (https://matplotlib.org/stable/users/explain/text/"
            "mathtext.html) or give the value as plain text (no surrounding $)"
        ) from error
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
