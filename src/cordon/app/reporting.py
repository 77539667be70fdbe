"""Write an analysis: `cases.json` (versioned schema, docs/cases-json.md) and a self-contained `report.html`.

The report needs no network and no JavaScript: per case an SVG network graph (igraph layout), a timeline of
posts and account creations, a chart of the flooded hashtags, and tables of entities, evasion pairs and queued
media; a summary table on top. It never shows media: only hashes and counts.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import igraph as ig
import msgspec
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from cordon.app.dossier import DayCount, Dossier, SuppressTag

SCHEMA = "cordon.cases/1"

ROLE_COLOURS = {
    "poster": "#c0392b",
    "evader": "#8e44ad",
    "hijacked": "#d35400",
    "amplifier": "#2980b9",
    "wave-account": "#16a085",
    "associate": "#7f8c8d",
}


@dataclass(frozen=True, slots=True)
class AnalysisMeta:
    source: str
    bank: str
    generated_at: datetime
    posts: int
    accounts: int
    media: int
    matches: int
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class CasesDocument:
    schema: str
    meta: AnalysisMeta
    cases: tuple[Dossier, ...]


def write_cases_json(path: Path, meta: AnalysisMeta, dossiers: Sequence[Dossier]) -> None:
    doc = CasesDocument(schema=SCHEMA, meta=meta, cases=tuple(dossiers))
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc), indent=1))


def read_cases_json(path: Path) -> CasesDocument:
    """Read back a cases.json (typed; raises msgspec.ValidationError naming the field on a bad file)."""
    return msgspec.json.decode(path.read_bytes(), type=CasesDocument)


# -- SVG pieces ------------------------------------------------------------------------------------------
def graph_svg(dossier: Dossier, width: int = 640, height: int = 420, max_nodes: int = 400) -> Markup:
    """The case's network: members coloured by role, ties drawn by layer weight."""
    members = {m.account_id: m.role for m in dossier.case.members[:max_nodes]}
    ties = [t for t in dossier.ties if t.a in members and t.b in members]
    names = sorted(members)
    if not names:
        return Markup("")
    index = {n: i for i, n in enumerate(names)}
    graph = ig.Graph(n=len(names), edges=[(index[t.a], index[t.b]) for t in ties])
    layout = graph.layout_fruchterman_reingold(niter=300, seed=[[i % 17, i // 17] for i in range(len(names))])
    xs, ys = zip(*layout.coords, strict=True) if names else ((), ())
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)

    def px(i: int) -> tuple[float, float]:
        sx = 20 + (xs[i] - x0) / ((x1 - x0) or 1) * (width - 40)
        sy = 20 + (ys[i] - y0) / ((y1 - y0) or 1) * (height - 40)
        return round(sx, 1), round(sy, 1)

    parts = [f'<svg viewBox="0 0 {width} {height}" class="graph" role="img">']
    # shared attributes on groups (ties by stroke width, members by colour): a page with 1,500 ties stays small
    by_width: dict[str, list[str]] = {}
    for t in ties:
        (ax, ay), (bx, by) = px(index[t.a]), px(index[t.b])
        by_width.setdefault(f"{min(3.0, 0.4 + t.weight / 2):.1f}", []).append(
            f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}"><title>{html.escape(t.layer)}</title></line>'
        )
    for w, lines in sorted(by_width.items()):
        parts.append(f'<g stroke="#999" stroke-opacity="0.5" stroke-width="{w}">{"".join(lines)}</g>')
    by_colour: dict[str, list[str]] = {}
    for name, i in index.items():
        x, y = px(i)
        by_colour.setdefault(ROLE_COLOURS.get(members[name], "#7f8c8d"), []).append(
            f'<circle cx="{x}" cy="{y}" r="4.5"><title>{html.escape(name)} ({html.escape(members[name])})</title></circle>'
        )
    for colour, circles in sorted(by_colour.items()):
        parts.append(f'<g fill="{colour}">{"".join(circles)}</g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline_svg(days: Sequence[DayCount], width: int = 640, height: int = 140) -> Markup:
    """Posts (bars above the axis) and account creations (bars below) per day."""
    if not days:
        return Markup("")
    top_posts = max(d.posts for d in days) or 1
    top_created = max(d.accounts_created for d in days) or 1
    mid = height * 0.62
    bar = max(1.0, (width - 20) / len(days))
    parts = [f'<svg viewBox="0 0 {width} {height}" class="timeline" role="img">']
    for i, d in enumerate(days):
        x = 10 + i * bar
        hp = (mid - 10) * d.posts / top_posts
        hc = (height - mid - 10) * d.accounts_created / top_created
        parts.append(
            f'<rect x="{x:.1f}" y="{mid - hp:.1f}" width="{bar * 0.8:.1f}" height="{hp:.1f}" fill="#2980b9">'
            f"<title>{d.day}: {d.posts} posts</title></rect>"
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{mid:.1f}" width="{bar * 0.8:.1f}" height="{hc:.1f}" fill="#16a085">'
            f"<title>{d.day}: {d.accounts_created} accounts created</title></rect>"
        )
    parts.append(f'<line x1="10" y1="{mid}" x2="{width - 10}" y2="{mid}" stroke="#333"/>')
    parts.append(
        f'<text x="10" y="12" font-size="10">{html.escape(str(days[0].day))} … '
        f"{html.escape(str(days[-1].day))}: posts (blue), accounts created (green)</text></svg>"
    )
    return Markup("".join(parts))


def hashtag_svg(tags: Sequence[SuppressTag], width: int = 640) -> Markup:
    """Flooded hashtags: the network's posts against the tag's total."""
    if not tags:
        return Markup("")
    rows = sorted(tags, key=lambda t: -t.cluster_posts)[:30]
    top = max(t.total_posts for t in rows) or 1
    height = 18 * len(rows) + 10
    parts = [f'<svg viewBox="0 0 {width} {height}" class="tags" role="img">']
    for i, t in enumerate(rows):
        y = 5 + i * 18
        total_w = (width - 200) * t.total_posts / top
        net_w = (width - 200) * t.cluster_posts / top
        parts.append(f'<text x="0" y="{y + 12}" font-size="11">#{html.escape(t.tag)}</text>')
        parts.append(f'<rect x="150" y="{y}" width="{total_w:.1f}" height="14" fill="#ddd"/>')
        parts.append(
            f'<rect x="150" y="{y}" width="{net_w:.1f}" height="14" fill="#c0392b">'
            f"<title>{t.cluster_posts} of {t.total_posts} posts by the network</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def render_report(meta: AnalysisMeta, dossiers: Sequence[Dossier]) -> str:
    env = Environment(loader=PackageLoader("cordon.app", "templates"), autoescape=select_autoescape())
    env.globals.update(graph_svg=graph_svg, timeline_svg=timeline_svg, hashtag_svg=hashtag_svg)
    return env.get_template("report.html").render(meta=meta, dossiers=dossiers, colours=ROLE_COLOURS)


def write_report(path: Path, meta: AnalysisMeta, dossiers: Sequence[Dossier]) -> None:
    path.write_text(render_report(meta, dossiers), encoding="utf-8")
