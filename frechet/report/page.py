"""HTML pieces of a report page: one self-contained document, every text escaped, every image and sound a data: URI,
no script, no font or stylesheet from elsewhere, and a Content-Security-Policy that forbids fetching anything."""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence

from frechet.report.content import AUDIO_TYPES, IMAGE_TYPES, Media

#: The browser may load nothing but the page's own data: URIs and inline style.
_POLICY = "default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'"
_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; max-width: 1100px;
       margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; margin-bottom: 4px; }
.subtitle, .caption, .meta { color: #555; } .caption { font-size: 12px; margin: 4px 0 12px; }
.headline { font-size: 17px; margin: 12px 0; } .headline b { font-size: 20px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.warnings { background: #fff6e0; border: 1px solid #e8c770; padding: 8px 12px; margin: 12px 0; }
.warnings li { margin: 2px 0; }
figure { margin: 12px 0; } figure img { max-width: 100%; height: auto; }
.gallery { display: flex; flex-wrap: wrap; gap: 10px; }
.tile { border: 1px solid #ddd; padding: 6px; font-size: 11px; width: 280px; overflow-wrap: anywhere; }
.tile.single { width: 140px; }
.tile .pair { display: flex; gap: 6px; align-items: flex-start; } .tile .side { flex: 1; min-width: 0; }
.tile audio { width: 100%; } .flag { color: #b00020; font-weight: bold; }
code { font-size: 12px; background: #f4f4f4; padding: 1px 3px; overflow-wrap: anywhere; }
"""


def escape(text: object) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape(str(text), quote=True)


def document(title: str, body: Iterable[str]) -> str:
    """The whole page around ``body``'s pieces."""
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_POLICY}\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n",
        *body,
        "</body>\n</html>\n",
    ])


def heading(text: str, level: int = 2) -> str:
    return f"<h{level}>{escape(text)}</h{level}>\n"


def paragraph(text: str, css: str = "") -> str:
    return f"<p{_class(css)}>{escape(text)}</p>\n"


def warnings(lines: Sequence[str]) -> str:
    """A box listing the warnings, or nothing."""
    if not lines:
        return ""
    return "<div class=\"warnings\"><b>Warnings</b><ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + \
        "</ul></div>\n"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A table; cells holding numbers are right-aligned."""
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td{_class('number' if _is_number(cell) else '')}>{escape(_cell(cell))}</td>"
                         for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"


def figure(svg: bytes, alt: str, caption: str) -> str:
    """A plot (an SVG document) as an image, with its caption."""
    return (f"<figure><img src=\"{data_uri('image/svg+xml', svg)}\" alt=\"{escape(alt)}\">"
            f"<figcaption class=\"caption\">{escape(caption)}</figcaption></figure>\n")


def media(item: Media | None, name: str) -> str:
    """An item's thumbnail or player, or its name alone when there is none (or its type is not one a page shows)."""
    if item is not None and item.mime in IMAGE_TYPES:
        size = "".join(f" {key}=\"{int(value)}\"" for key, value in (("width", item.width), ("height", item.height))
                       if value)
        return f"<img src=\"{data_uri(item.mime, item.data)}\"{size} alt=\"{escape(name)}\">"
    if item is not None and item.mime in AUDIO_TYPES:
        source = data_uri(item.mime, item.data)
        return f"<audio controls preload=\"none\" src=\"{source}\" title=\"{escape(name)}\"></audio>"
    return ""


def tile(parts: Sequence[tuple[str, str]], caption: str, flagged: bool = False) -> str:
    """A gallery tile: one item or a pair side by side (each its media HTML and name), and a caption."""
    sides = "".join(f"<div class=\"side\">{html_media}<div>{escape(name)}</div></div>" for html_media, name in parts)
    flag = "<span class=\"flag\">memorised? </span>" if flagged else ""
    css = "tile" if len(parts) > 1 else "tile single"
    return f"<div class=\"{css}\"><div class=\"pair\">{sides}</div><div>{flag}{escape(caption)}</div></div>\n"


def gallery(tiles: Sequence[str]) -> str:
    return "<div class=\"gallery\">\n" + "".join(tiles) + "</div>\n"


def data_uri(mime: str, data: bytes) -> str:
    """``data:`` URI of ``data`` in base64."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _class(css: str) -> str:
    return f" class=\"{css}\"" if css else ""


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
