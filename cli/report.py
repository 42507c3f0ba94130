"""`servicedesk report`: an HTML report with charts of the KPIs of a period.

    servicedesk report --from 2026-12-01 --to 2026-12-04 [--queue hardware] --out report.html

The figures come from GET /kpis of the running local stack (or any deployment reachable with a
development token), so the report shows what the API serves. Charts are drawn with matplotlib,
which the `ml` extra installs; it never runs on the Lambda path.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import sys
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cli.local_client import DEFAULT_API_URL, ApiClient, add_token_arguments

# Definitions shown next to each figure; docs/customer-360-and-kpis.md has the full text.
KPI_LABELS: dict[str, tuple[str, str]] = {
    "mttr_hours": ("MTTR", "mean hours from opening to resolution, over resolutions in the period"),
    "first_response_minutes": ("First response", "mean minutes to the first agent reply or move to in_progress"),
    "first_contact_resolution": ("First-contact resolution", "% of resolutions with at most one agent reply, no reopen, no escalation"),
    "sla_compliance": ("SLA compliance", "% of resolutions with SLA clocks that breached neither target"),
    "backlog": ("Backlog", "open tickets at the end of the period"),
    "escalation_rate": ("Escalation rate", "% of created tickets that were escalated"),
    "automation_rate": ("Automation rate", "% of created tickets whose queue or agent a model or the router chose"),
    "csat": ("CSAT", "mean answer of CSAT surveys (1-5)"),
    "nps": ("NPS", "% promoters (9-10) minus % detractors (0-6)"),
    "sentiment": ("Net sentiment", "(positive - negative) / scored requester messages"),
}
# Per-day counts, drawn as bars; every other series is a level or a ratio, drawn as a line.
DAILY_COUNTS = frozenset({"created", "resolved"})
# Charts of the report: title, y-axis label and the per-day series each one draws.
CHARTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Volume and backlog", "tickets", ("created", "resolved", "backlog")),
    ("Handling time", "hours / minutes", ("mttr_hours", "first_response_minutes")),
    ("Rates", "%", ("first_contact_resolution", "sla_compliance", "escalation_rate", "automation_rate")),
    ("CSAT", "score 1-5", ("csat",)),
    ("NPS", "score -100 to 100", ("nps",)),
    ("Net sentiment of requester messages", "-1 to 1", ("sentiment",)),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="from_day", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="to_day", type=date.fromisoformat, required=True, help="last day, YYYY-MM-DD, included")
    parser.add_argument("--queue", default=None, help="only this queue (default: the whole tenant)")
    parser.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file to write (default: report.html)")
    parser.add_argument("--api-url", default=DEFAULT_API_URL, help="base URL of the API")
    parser.add_argument("--tenant", default="demo", help="tenant whose KPIs are reported (default: demo)")
    parser.add_argument("--user", default="report", help="user id of the supervisor token the report uses")
    add_token_arguments(parser)


def fetch_report(client: ApiClient, from_day: date, to_day: date, queue: str | None) -> dict[str, Any]:
    """Read GET /kpis; raise SystemExit with the API's message when it answers an error."""
    query = {"from": from_day.isoformat(), "to": to_day.isoformat()}
    if queue:
        query["queue"] = queue
    response = client.request("GET", f"/kpis?{urlencode(query)}")
    if response.status_code != 200:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise SystemExit(f"GET /kpis failed with {response.status_code}: {message}")
    return response.json()


def chart_png(report: dict[str, Any], title: str, unit: str, series: tuple[str, ...]) -> bytes:
    """Draw one chart of per-day series and return it as PNG bytes.

    Daily counts (created, resolved) are bars side by side; levels and ratios are lines.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib import pyplot

    days = [date.fromisoformat(entry["day"]) for entry in report["days"]]
    bar_series = [name for name in series if name in DAILY_COUNTS]
    bar_width = 0.8 / max(1, len(bar_series))
    figure, axes = pyplot.subplots(figsize=(8, 3.2), dpi=100)
    try:
        for name in series:
            label = KPI_LABELS.get(name, (name.capitalize(), ""))[0]
            values = [entry["values"].get(name) for entry in report["days"]]
            if name in bar_series:
                offset = (bar_series.index(name) - (len(bar_series) - 1) / 2) * bar_width
                positions = [mdates.date2num(day) + offset for day in days]
                axes.bar(positions, [value or 0 for value in values], width=bar_width, label=label)
                continue
            points = [(day, value) for day, value in zip(days, values, strict=True) if value is not None]
            if points:
                axes.plot([day for day, _ in points], [value for _, value in points], marker="o", label=label)
        axes.set_title(title)
        axes.set_ylabel(unit)
        axes.grid(alpha=0.3)
        # Every day of the window keeps its place, even when only some days have values.
        axes.set_xlim(mdates.date2num(days[0]) - 0.6, mdates.date2num(days[-1]) + 0.6)
        if len(days) <= 31:
            axes.set_xticks([mdates.date2num(day) for day in days])
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="upper left", fontsize="small")
        figure.autofmt_xdate()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
    finally:
        pyplot.close(figure)
    return buffer.getvalue()


# KPIs whose numerator is a sum of seconds, while their value is in hours or minutes.
SECONDS_NUMERATORS = frozenset({"mttr_hours", "first_response_minutes"})


def _number(value: float) -> str:
    """Format a KPI value: two decimals, or three significant digits below 1 so small times stay visible."""
    return f"{value:.3g}" if 0 < abs(value) < 1 else f"{value:,.2f}"


def render_html(report: dict[str, Any]) -> str:
    """Build the self-contained HTML report: a table of the period's KPIs and one image per chart."""
    scope = f"queue {report['queue']}" if report.get("queue") else "all queues"
    heading = f"Service desk KPIs, {report['from_day']} to {report['to_day']} ({scope}, days in {report['time_zone']})"
    rows = []
    for name, (label, definition) in KPI_LABELS.items():
        kpi = report["kpis"][name]
        value = "n/a" if kpi["value"] is None else _number(kpi["value"])
        numerator = f"{kpi['numerator']:g} s" if name in SECONDS_NUMERATORS else f"{kpi['numerator']:g}"
        rows.append(
            "<tr>"
            f"<td>{html.escape(label)}</td><td class=num>{value}</td><td>{html.escape(kpi['unit'])}</td>"
            f"<td class=num>{numerator} / {kpi['denominator']:g}</td><td>{html.escape(definition)}</td>"
            "</tr>"
        )
    images = []
    for title, unit, series in CHARTS:
        encoded = base64.b64encode(chart_png(report, title, unit, series)).decode("ascii")
        images.append(f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}"></figure>')
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(heading)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}.num{text-align:right}</style></head><body>"
        f"<h1>{html.escape(heading)}</h1>"
        "<table><tr><th>KPI</th><th>value</th><th>unit</th><th>numerator / denominator</th><th>definition</th></tr>"
        + "".join(rows)
        + "</table>"
        + "".join(images)
        + "</body></html>\n"
    )


def run(args: argparse.Namespace) -> int:
    if args.to_day < args.from_day:
        print("servicedesk report: --to must not be before --from", file=sys.stderr)
        return 2
    client = ApiClient(args.api_url, args.tenant, user_id=args.user, role="supervisor", secret_file=args.secret_file)
    client.check_reachable()
    report = fetch_report(client, args.from_day, args.to_day, args.queue)
    args.out.write_text(render_html(report), "utf-8")
    print(f"wrote {args.out} ({len(report['days'])} days, backlog {report['kpis']['backlog']['value']:g})")
    return 0
