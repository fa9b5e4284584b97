"""The data card: one self-contained HTML page with inline SVG bar charts (no plotting library).

It shows the accounting, the split against its targets, token-length histograms per split,
categories per split, PII found by type and duplicate-cluster sizes. It is deterministic (no
timestamps) because DVC tracks it with the dataset.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from schemas.dataset import SPLITS, DatasetManifest

_COLOURS = {"train": "#4C78A8", "val": "#F58518", "test": "#54A24B"}
_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}svg{margin:8px 16px 8px 0}"
)
TOKEN_BINS = (0, 64, 128, 256, 512, 1024, 2048, 4096)


def token_histogram(lengths: Sequence[int]) -> dict[str, int]:
    """Counts of token lengths per bin (``lo-hi`` labels, last bin open)."""
    labels = [f"{lo}-{hi - 1}" for lo, hi in zip(TOKEN_BINS, TOKEN_BINS[1:], strict=False)] + [f"{TOKEN_BINS[-1]}+"]
    counts = dict.fromkeys(labels, 0)
    for n in lengths:
        index = sum(1 for edge in TOKEN_BINS[1:] if n >= edge)
        counts[labels[index]] += 1
    return counts


def svg_bars(title: str, values: Mapping[str, int], colour: str = "#4C78A8", width: int = 520) -> str:
    """A horizontal bar chart as an inline SVG string."""
    rows = list(values.items()) or [("(none)", 0)]
    top = max(v for _, v in rows) or 1
    bar_h, label_w, height = 18, 170, 28 + 22 * len(rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(rows):
        y = 26 + 22 * i
        w = int((width - label_w - 60) * value / top)
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{html.escape(str(label))}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + w + 4}" y="{y + 13}" font-size="12">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_data_card(manifest: DatasetManifest, token_lengths: Mapping[str, Sequence[int]]) -> str:
    """The data card's HTML.

    Args:
        manifest: The build's manifest (counts, reports, PII, clusters).
        token_lengths: Token count of every written example, per split.

    Returns:
        A complete HTML document.
    """
    c = manifest.counts
    accounting = _table(
        ["input lines", "written", "rejected", "filtered", "duplicates", "malformed"],
        [[c.input_lines, c.written, c.rejected, c.filtered, c.duplicates, c.malformed]],
    )
    reasons = _table(
        ["kind", "reason", "lines"],
        [[kind, reason, n] for kind, by in sorted(manifest.reasons.items()) for reason, n in sorted(by.items())],
    )
    dedupe = _table(
        ["dedupe method", "dropped", "clusters"],
        [[method, n["dropped"], n["clusters"]] for method, n in manifest.dedupe.items()],
    )
    report = manifest.split_report
    split_rows = [
        [
            cell.category,
            cell.total,
            *(f"{cell.counts[s]} ({cell.ratios[s]:.0%})" for s in SPLITS),
            f"{cell.max_abs_deviation:.3f}",
        ]
        for cell in report.categories
    ]
    split_table = _table(
        ["category", "examples", *(f"{s} (target {report.targets[s]:.0%})" for s in SPLITS), "max deviation"],
        split_rows,
    )
    charts = [
        svg_bars(
            f"Token length, {s} ({len(token_lengths.get(s, []))} examples)",
            token_histogram(token_lengths.get(s, [])),
            _COLOURS[s],
        )
        for s in SPLITS
    ]
    charts += [
        svg_bars(f"Categories, {s}", {cell.category: cell.counts[s] for cell in report.categories}, _COLOURS[s])
        for s in SPLITS
    ]
    charts.append(svg_bars("PII found, by type", dict(sorted(manifest.pii_counts.items())), "#B279A2"))
    charts.append(
        svg_bars(
            "Duplicate clusters, by size",
            {f"size {k}": v for k, v in sorted(manifest.duplicate_cluster_sizes.items(), key=lambda kv: int(kv[0]))},
            "#9D755D",
        )
    )
    leak = "none" if manifest.leakage.clean else f"{len(manifest.leakage.cross_split_pairs)} pairs"
    intro = (
        f"<p>Version <code>{manifest.version}</code>. Format: OpenAI chat fine-tuning JSONL and parquet. "
        "Personal data redacted with presidio (placeholders such as &lt;PERSON_1&gt;). "
        f"Duplicate pairs (any method) across splits: {leak}. Groups straddling splits: {report.groups_straddling}.</p>"
    )
    return (
        "\n".join(
            [
                "<!doctype html>",
                f'<html lang="en"><head><meta charset="utf-8"><title>Data card: {html.escape(manifest.name)}</title>',
                f"<style>{_STYLE}</style></head><body>",
                f"<h1>Data card: {html.escape(manifest.name)}</h1>",
                intro,
                "<h2>Accounting</h2>",
                accounting,
                reasons,
                dedupe,
                "<h2>Split</h2>",
                split_table,
                "<h2>Charts</h2>",
                "<div>" + "".join(charts) + "</div>",
                "<h2>Sources</h2>",
                _table(["file", "lines", "sha256"], [[s.path, s.lines, s.sha256] for s in manifest.sources]),
                "</body></html>",
            ]
        )
        + "\n"
    )
