"""The benchmark's outputs: ``<date>.json`` (every run), ``<date>.md`` (verdicts, tables) and
PNG plots beside them. Every verdict is a ratio of two figures of the same run; absolute
numbers are printed for context only.

    .venv/bin/python bench/report.py bench/results/<date>.json   # rewrite the report
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SERVER_ORDER = ("floor", "current", "current-2w", "baseline")
OUTCOME_COLOURS = {"PASS": "#2ca02c", "FAIL": "#d62728", "info": "#888888"}
COLOURS = {"floor": "#888888", "current": "#1f77b4", "current-2w": "#2ca02c", "baseline": "#ff7f0e"}


@dataclass(frozen=True)
class Verdict:
    target: str
    ratio: float | None
    limit: float
    at_least: bool  # True: ratio >= limit passes; False: ratio <= limit passes
    detail: str

    @property
    def outcome(self) -> str:
        if self.ratio is None:
            return "NOT MEASURED"
        passed = self.ratio >= self.limit if self.at_least else self.ratio <= self.limit
        return "PASS" if passed else "FAIL"


class Figures:
    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results
        self.rows = {(r["scenario"], r["server"], r["clients"]): r for r in results["summary"]}

    def get(self, scenario: str, server: str, clients: int, key: str) -> float | None:
        row = self.rows.get((scenario, server, clients))
        value = row.get(key) if row else None
        return float(value) if value else None

    def ratio(self, a: tuple[str, str, int], b: tuple[str, str, int], key: str) -> float | None:
        top, bottom = self.get(*a, key), self.get(*b, key)
        return top / bottom if top is not None and bottom else None

    def cores_allow(self, scenario: str, cores: int = 2) -> str:
        """What ``cores`` allow 2 workers at most, from the 1-worker run's CPU per request:
        the server's S, the database's D and the load generator's C all share the cores, so
        the throughput can grow at most ``cores * S / (S + D + C)`` times (when one worker
        kept a core busy)."""
        row = self.rows.get((scenario, "current", 4)) or {}
        parts = [row.get(f"cpu_{part}_ms") for part in ("server", "database", "client")]
        if any(part is None for part in parts):
            return "CPU per request not measured"
        server, database, client = (float(part) for part in parts)  # type: ignore[arg-type]
        bound = cores * server / (server + database + client)
        return (
            f"1 worker: {server:.2f} ms server + {database:.2f} ms database + {client:.2f} ms"
            f" load generator CPU per request, so {cores} cores allow at most {bound:.2f}x"
        )

    def sql(self, scenario: str, server: str) -> int | None:
        value: int | None = self.results["sql"].get(scenario, {}).get(server)
        return value


WALDUR_ME_RPS = 111.0
"""``GET /api/users/me/`` on Waldur MasterMind at 4 clients, as measured side by side with
gql-users for issue 9 (2 cores, PostgreSQL 15, gunicorn with 2 workers)."""


def verdicts(results: dict[str, Any]) -> list[Verdict]:
    f = Figures(results)
    out: list[Verdict] = []
    for key, dataset in results["datasets"].items():
        if dataset["kind"] == "list":
            out += small_dataset_verdicts(f, key, dataset["backend"])
        else:
            out += large_dataset_verdicts(f, key, dataset["users"])
    return out


def small_dataset_verdicts(f: Figures, key: str, backend: str) -> list[Verdict]:
    rest, graphql, me = f"{key}/rest-list", f"{key}/graphql-list", f"{key}/me"
    sql = f.sql(rest, "current")
    out = [
        Verdict(
            f"{key}: REST list page, 4 clients, throughput vs the floor",
            f.ratio((rest, "current", 4), (rest, "floor", 4), "rps"),
            0.5,
            True,
            "gql-users / floor, requests per second",
        ),
        Verdict(
            f"{key}: REST list page, SQL statements per request (authentication included)",
            float(sql) if sql is not None else None,
            3,
            False,
            "a count, not a ratio",
        ),
        Verdict(
            f"{key}: GraphQL users(first: 50) with permissions vs the REST page, 4 clients",
            f.ratio((graphql, "current", 4), (rest, "current", 4), "rps"),
            0.8,
            True,
            "GraphQL / REST, requests per second",
        ),
    ]
    if backend == "postgresql":  # SQLite's single writer makes workers a different question
        wide = f"{key}/graphql-wide"
        out.append(
            Verdict(
                f"{key}: 2 workers vs 1 worker, 4 clients, a server-bound request (GraphQL"
                " users(first: 50) with every user field and nested permissions)",
                f.ratio((wide, "current-2w", 4), (wide, "current", 4), "rps"),
                1.7,
                True,
                "requests per second; " + f.cores_allow(wide),
            )
        )
        out.append(
            Verdict(
                f"{key}: 2 workers vs 1 worker, REST list page, 4 clients",
                f.ratio((rest, "current-2w", 4), (rest, "current", 4), "rps"),
                0.0,
                True,
                "information only: requests per second; " + f.cores_allow(rest),
            )
        )
    me_rps = f.get(me, "current", 4, "rps")
    if me_rps is not None:
        out.append(
            Verdict(
                f"{key}: /api/users/me/ vs Waldur, 4 clients (Waldur's figure from issue 9)",
                me_rps / WALDUR_ME_RPS,
                5.0,
                True,
                f"gql-users requests per second / {WALDUR_ME_RPS:g}, the figure recorded for"
                " Waldur MasterMind (gunicorn, 2 workers) on the same kind of 2-core machine;"
                " Waldur cannot be installed here, so this one compares with a recorded figure",
            )
        )
    me_ratio = f.ratio((me, "current", 4), (me, "floor", 4), "rps")
    if me_ratio is not None:
        out.append(
            Verdict(
                f"{key}: /api/users/me/ vs the floor, 4 clients",
                me_ratio,
                0.0,
                True,
                "information only: gql-users / floor, requests per second",
            )
        )
    return out


def large_dataset_verdicts(f: Figures, key: str, users: int) -> list[Verdict]:
    def latency(a: str, b: str, limit: float, target: str) -> Verdict:
        ratio = f.ratio((f"{key}/{a}", "current", 1), (f"{key}/{b}", "current", 1), "p50_ms")
        return Verdict(f"{key} ({users} users): {target}", ratio, limit, False, "median latency")

    out = [
        latency("rest-page-deep", "rest-page-1", 1.5, "REST deep page vs page 1"),
        latency("graphql-cursor-deep", "graphql-page-1", 1.1, "GraphQL deep cursor vs first page"),
    ]
    for api in ("rest", "graphql"):
        label = "REST" if api == "rest" else "GraphQL"
        for name in ("full_name", "query", "email"):
            if (f"{key}/{api}-filter-{name}-rare", "current", 1) in f.rows:
                out.append(
                    latency(
                        f"{api}-filter-{name}-rare", f"{api}-filter-username", 3.0,
                        f"{label} {name} (icontains) matching 3 users vs exact username",
                    )
                )  # fmt: skip
            if (f"{key}/{api}-filter-{name}", "current", 1) in f.rows:
                # For information: a term that matches a full page renders 50 users with their
                # permissions where the username lookup renders one; the unfiltered page 1
                # renders as many rows.
                for other, what in (("filter-username", "exact username"),
                                    ("page-1", "the unfiltered page 1")):  # fmt: skip
                    out.append(
                        latency(
                            f"{api}-filter-{name}", f"{api}-{other}", 0.0,
                            f"{label} {name} (icontains, a full page) vs {what} (information"
                            " only)",
                        )
                    )  # fmt: skip
    return out


# ---------------------------------------------------------------- plots


def finish(
    figure: Any, axis: Any, labels: list[str], xlabel: str, title: str, path: Path, first: int = 0
) -> Path:
    """Label a horizontal chart (first label on top) and save it."""
    axis.set_yticks(range(first, first + len(labels)))
    axis.set_yticklabels(labels, fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel(xlabel)
    axis.set_title(title)
    figure.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_throughput(results: dict[str, Any], path: Path) -> Path:
    rows = sorted(results["summary"], key=lambda r: (r["scenario"], r["clients"]))
    labels = sorted({(r["scenario"], r["clients"]) for r in rows})
    servers = [s for s in SERVER_ORDER if any(r["server"] == s for r in rows)]
    figure, axis = plt.subplots(figsize=(12, max(4, 0.12 * len(labels) * len(servers))))
    height = 0.8 / max(1, len(servers))
    for index, server in enumerate(servers):
        values = [
            next((r["rps"] for r in rows if (r["scenario"], r["clients"]) == label
                  and r["server"] == server), 0.0)
            for label in labels
        ]  # fmt: skip
        positions = [i - 0.4 + height * (index + 0.5) for i in range(len(labels))]
        axis.barh(positions, values, height=height, label=server, color=COLOURS.get(server))
    axis.set_xscale("log")
    axis.legend()
    names = [f"{scenario} ×{clients}" for scenario, clients in labels]
    xlabel = "requests per second, log scale (×N: concurrent clients)"
    return finish(figure, axis, names, xlabel, "Throughput per scenario", path)


def plot_latency(results: dict[str, Any], path: Path) -> Path:
    rows = [r for r in results["runs"] if r["latencies_ms"]]
    groups: dict[str, list[float]] = {}
    for run in rows:
        label = f"{run['scenario']} ×{run['clients']} {run['server']}"
        groups.setdefault(label, []).extend(run["latencies_ms"])
    labels = sorted(groups)
    figure, axis = plt.subplots(figsize=(12, max(4, 0.25 * len(labels))))
    axis.boxplot([groups[label] for label in labels], orientation="horizontal", showfliers=False)
    axis.set_xscale("log")
    xlabel = "latency, ms (log scale; box: quartiles, whiskers: 1.5 IQR)"
    return finish(figure, axis, labels, xlabel, "Latency distributions", path, first=1)


def plot_ratios(results: dict[str, Any], ratios: list[Verdict], path: Path) -> Path:
    measured = [v for v in ratios if v.ratio is not None and "SQL" not in v.target]
    figure, axis = plt.subplots(figsize=(12, max(3, 0.4 * len(measured))))
    colours = [OUTCOME_COLOURS[v.outcome if v.limit else "info"] for v in measured]
    axis.barh(range(len(measured)), [v.ratio or 0 for v in measured], color=colours)
    for index, verdict in enumerate(measured):
        if verdict.limit:
            axis.plot([verdict.limit] * 2, [index - 0.4, index + 0.4], color="black")
    labels = [v.target for v in measured]
    xlabel = "ratio (black tick: the target; grey: information only)"
    return finish(figure, axis, labels, xlabel, "Ratios measured in the same run", path)


def plot_bars(values: dict[str, float], title: str, xlabel: str, path: Path) -> Path:
    labels = sorted(values)
    figure, axis = plt.subplots(figsize=(10, max(3, 0.3 * len(labels))))
    axis.barh(range(len(labels)), [values[label] for label in labels])
    return finish(figure, axis, labels, xlabel, title, path)


# ---------------------------------------------------------------- Markdown


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(results: dict[str, Any], ratios: list[Verdict], plots: list[Path]) -> str:
    mode = "--quick (small data, short rounds: indicative only)" if results["quick"] else "full"
    lines = [
        f"# gql-users benchmark, {results['date']}",
        "",
        f"Commit {results['commit']}; baseline: {results['baseline'] or 'none'}; mode: {mode};",
        f"{results['rounds']} interleaved round(s) of {results['seconds']} s per scenario and"
        f" server; load generator: {results['load_generator']}; total {results['elapsed_s']} s.",
        "Absolute numbers depend on the machine and its load; the verdicts are ratios of figures"
        " measured in this run.",
        "",
        "Data: "
        + "; ".join(
            f"{key}: {d.get('rows', {}).get('users', d['users'])} users,"
            f" {d.get('rows', {}).get('active_roles', '?')} active roles"
            for key, d in results["datasets"].items()
        )
        + ".",
        "",
        "## Verdicts",
        "",
        "| target | ratio | limit | verdict | measured as |",
        "|---|---:|---:|---|---|",
    ]
    for v in ratios:
        limit = f"{'≥' if v.at_least else '≤'} {v.limit:g}" if v.limit else "–"
        outcome = v.outcome if v.limit else "info"
        lines.append(f"| {v.target} | {fmt(v.ratio, 2)} | {limit} | {outcome} | {v.detail} |")
    lines += baseline_table(results)
    lines += ["", "## Checks", ""]
    for name, ok in results["checks"].items():
        lines.append(f"- {name}: {'yes' if ok else 'NO'}")
    for note in results["notes"]:
        lines.append(f"- note: {note}")
    lines += [
        "",
        "## Figures",
        "",
        "CPU per request, in ms: the server (its workers included), the database (PostgreSQL's"
        " processes) and the load generator; busy: the machine's CPU in use during the runs.",
        "",
        "| scenario | server | clients | req/s | p50 ms | p90 ms | p99 ms | errors | SQL/request"
        " | CPU server | CPU database | CPU client | busy |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(results["summary"], key=lambda r: (r["scenario"], r["clients"], r["server"])):
        sql = results["sql"].get(r["scenario"], {}).get(r["server"])
        lines.append(
            f"| {r['scenario']} ({r['title']}) | {r['server']} | {r['clients']} | {fmt(r['rps'])}"
            f" | {fmt(r['p50_ms'])} | {fmt(r['p90_ms'])} | {fmt(r['p99_ms'])} | {r['errors']}"
            f" | {'–' if sql is None else sql} | {fmt(r.get('cpu_server_ms'), 2)}"
            f" | {fmt(r.get('cpu_database_ms'), 2)} | {fmt(r.get('cpu_client_ms'), 2)}"
            f" | {fmt(100 * r['machine_busy'] if 'machine_busy' in r else None, 0)}"
            f"{'%' if 'machine_busy' in r else ''} |"
        )
    lines += ["", "Resident memory (max over the run, KiB, workers included):", ""]
    for name, kib in sorted(results["rss_kib"].items()):
        lines.append(f"- {name}: {kib}")
    lines += ["", "## Plots", ""]
    lines += [f"![{plot.stem}]({plot.name})" for plot in plots]
    return "\n".join(lines) + "\n"


def baseline_table(results: dict[str, Any]) -> list[str]:
    """Current against the baseline, scenario by scenario: throughput and median latency."""
    if not results["baseline"]:
        return []
    f = Figures(results)
    lines = [
        "",
        f"## Against the baseline ({results['baseline']})",
        "",
        "| scenario | clients | throughput, current / baseline | median latency, ditto |",
        "|---|---:|---:|---:|",
    ]
    for scenario, server, clients in sorted(f.rows):
        if server != "current" or (scenario, "baseline", clients) not in f.rows:
            continue
        rps = f.ratio((scenario, "current", clients), (scenario, "baseline", clients), "rps")
        p50 = f.ratio((scenario, "current", clients), (scenario, "baseline", clients), "p50_ms")
        lines.append(f"| {scenario} | {clients} | {fmt(rps, 2)} | {fmt(p50, 2)} |")
    return lines


def write_report(results: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = results["date"].replace(":", "").replace("+0000", "Z")
    ratios = verdicts(results)
    data = out / f"{stem}.json"
    data.write_text(json.dumps(results, indent=1))
    sql = {
        f"{scenario} {server}": float(count)
        for scenario, by_server in results["sql"].items()
        for server, count in by_server.items()
        if count is not None
    }
    plots = [
        plot_ratios(results, ratios, out / f"{stem}-ratios.png"),
        plot_throughput(results, out / f"{stem}-throughput.png"),
        plot_latency(results, out / f"{stem}-latency.png"),
        plot_bars(sql, "SQL statements per request", "statements", out / f"{stem}-sql.png"),
        plot_bars(
            {k: v / 1024 for k, v in results["rss_kib"].items()},
            "Resident memory per process",
            "MiB",
            out / f"{stem}-rss.png",
        ),
    ]
    report = out / f"{stem}.md"
    report.write_text(markdown(results, ratios, plots))
    print(report.read_text().split("## Figures")[0])
    return [data, report, *plots]


if __name__ == "__main__":
    source = Path(sys.argv[1])
    write_report(json.loads(source.read_text()), source.parent)
