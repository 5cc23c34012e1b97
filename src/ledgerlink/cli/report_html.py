"""The reconcile report as one self-contained HTML file: inline CSS and SVG, nothing fetched."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from ledgerlink.sync.reconcile import COUNT_LABELS, FINDING_KINDS, Finding, ReconcileReport

#: Findings listed in the file; beyond this the CSV has them all (a browser stays responsive).
MAX_HTML_FINDINGS = 5_000

_COLOURS = {"missing": "#c0392b", "extra": "#d68910", "differs": "#2471a3", "paid": "#1e8449"}
_LABELS = {
    "missing": "missing from the books",
    "extra": "extra in the books",
    "differs": "differs",
    "paid": "paid in the books (not drift)",
}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem;
       color: #1b1f23; max-width: 72rem; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; }
p.meta { color: #57606a; margin-top: 0; }
.status-ok { color: #1e8449; } .status-drift { color: #c0392b; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.kind-missing { color: #c0392b; font-weight: 600; }
td.kind-extra { color: #d68910; font-weight: 600; }
td.kind-differs { color: #2471a3; font-weight: 600; }
td.kind-paid { color: #1e8449; font-weight: 600; }
code { font-size: .85em; word-break: break-all; }
ul.fields { margin: 0; padding-left: 1rem; }
svg text { font-family: inherit; font-size: 12px; fill: #1b1f23; }
"""


def _e(value: object) -> str:
    """Every value that reaches the page goes through here."""
    return escape("" if value is None else str(value), quote=True)


def render_html(
    report: ReconcileReport, *, generated_at: datetime, max_findings: int = MAX_HTML_FINDINGS
) -> str:
    """The whole report as one HTML document (UTF-8), safe to open and to e-mail."""
    findings = list(report.findings())
    shown = findings[:max_findings]
    status = "No drift" if not report.drift else "Drift found"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ledgerlink reconcile {_e(report.run_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f'<h1>CRM and books: <span class="status-{_e(report.status)}">{_e(status)}</span></h1>',
        f'<p class="meta">ledgerlink reconcile, run <code>{_e(report.run_id)}</code>, '
        f"{_e(generated_at.isoformat(timespec='seconds'))}</p>",
        "<h2>Summary</h2>",
        _summary_table(report),
        "<h2>Findings per pipe</h2>",
        chart_svg(report),
        f"<h2>Findings ({len(findings):,})</h2>",
    ]
    if findings:
        parts.append(_findings_table(shown))
        if len(findings) > len(shown):
            parts.append(
                f"<p>{len(findings) - len(shown):,} more finding(s) are not listed here; "
                "<code>ledgerlink reconcile --csv PATH</code> writes them all.</p>"
            )
    else:
        parts.append("<p>Every record in scope is in the books and agrees with the CRM.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _summary_table(report: ReconcileReport) -> str:
    head = "".join(f'<th class="num">{_e(label)}</th>' for label in COUNT_LABELS.values())
    rows = []
    for pipe in report.pipes:
        counts = pipe.counts()
        cells = "".join(f'<td class="num">{counts[c]:,}</td>' for c in COUNT_LABELS)
        rows.append(
            f"<tr><td>{_e(pipe.name)}</td><td>{_e(pipe.source)} → {_e(pipe.target)}</td>"
            f"{cells}</tr>"
        )
    return (
        f"<table><thead><tr><th>pipe</th><th>from → to</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def chart_svg(report: ReconcileReport) -> str:
    """A horizontal bar chart of findings per pipe and kind, as inline SVG."""
    bar_height, gap, label_width, bar_width = 18, 4, 220, 420
    counts = [(p.name, [(k, p.count(k)) for k in FINDING_KINDS]) for p in report.pipes]
    biggest = max((n for _, kinds in counts for _, n in kinds), default=0) or 1
    y = 0
    shapes: list[str] = []
    for name, kinds in counts:
        y += 16
        shapes.append(f'<text x="0" y="{y}" font-weight="bold">{_e(name)}</text>')
        y += gap
        for kind, number in kinds:
            width = round(bar_width * number / biggest)
            label = f"{name}: {number} {_LABELS[kind]}"
            shapes.append(
                f'<text x="8" y="{y + bar_height - 5}">{_e(_LABELS[kind])}</text>'
                f'<rect x="{label_width}" y="{y}" width="{max(width, 1)}" '
                f'height="{bar_height}" fill="{_COLOURS[kind]}"><title>{_e(label)}</title></rect>'
                f'<text x="{label_width + max(width, 1) + 6}" y="{y + bar_height - 5}">'
                f"{number:,}</text>"
            )
            y += bar_height + gap
        y += 8
    total_width = label_width + bar_width + 60
    return (
        f'<svg role="img" aria-label="Findings per pipe and kind" width="{total_width}" '
        f'height="{max(y, 20)}" viewBox="0 0 {total_width} {max(y, 20)}">'
        f"<title>Findings per pipe and kind</title>{''.join(shapes)}</svg>"
    )


def _findings_table(findings: Sequence[Finding]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("finding", "pipe", "record", "field", "in the books", "from the CRM", "note")
    )
    rows = [_finding_row(f) for f in findings]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _finding_row(finding: Finding) -> str:
    ids = " / ".join(i for i in (finding.source_key, finding.target_id) if i)
    record = f"{_e(finding.name)}<br><code>{_e(ids)}</code>" if ids else _e(finding.name)
    return (
        f'<tr><td class="kind-{_e(finding.kind)}">{_e(finding.kind)}</td>'
        f"<td>{_e(finding.pipe)}</td><td>{record}</td>"
        f"<td>{_lines(d.field for d in finding.fields)}</td>"
        f"<td>{_lines(d.books for d in finding.fields)}</td>"
        f"<td>{_lines(d.desired for d in finding.fields)}</td>"
        f"<td>{_e(finding.reason)}</td></tr>"
    )


def _lines(values: Iterable[str]) -> str:
    return "<br>".join(_e(v) if v else "<em>(empty)</em>" for v in values)
