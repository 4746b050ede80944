#!/usr/bin/env python3
"""Benchmark runner: measures P1-P5 on SQLite and PostgreSQL and writes BENCHMARKS.md.

    python3 bench/run.py                 # the full report (about an hour on 2 cores)
    python3 bench/run.py --quick         # small sizes, to check the runner itself
    python3 bench/run.py --reuse WORK/results.json   # the report again from an earlier run

Public tools only: the release binary, wrk (with bench/agency.lua) for HTTP load,
/usr/bin/time -v for peak memory, psql for PostgreSQL databases. Each figure is the median
of --runs runs, next to a baseline measured in the same run and the issue's target.
Standard library only (Python 3.11+).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "claimflow"
REGION = "330300"
# Workers of the agency under load (bench/agency.lua): each works its own stage's queue.
WORKERS = [("clerk", 16), ("reviewer", 24), ("senior_reviewer", 16), ("supervisor", 8)]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], env: dict | None = None, stdin: str | None = None, check=True) -> str:
    proc = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def timed(cmd: list[str], env: dict) -> tuple[str, float, float]:
    """Runs under /usr/bin/time -v: (stdout, wall seconds, peak RSS in MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        started = time.monotonic()
        out = run(["/usr/bin/time", "-v", "-o", t.name, *cmd], env=env)
        wall = time.monotonic() - started
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t.read()).group(1))
    return out, wall, rss_kb / 1024


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


@dataclass
class Backend:
    name: str  # "SQLite" or "PostgreSQL"
    work: Path
    pg_admin: str | None = None  # postgres://… of a database to run CREATE DATABASE from
    env: dict = field(default_factory=dict)

    def fresh(self, tag: str) -> dict:
        """An empty database and data directory; returns the environment that points at them."""
        data = self.work / f"{self.name.lower()}-{tag}"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        env = dict(os.environ, CLAIMFLOW_DATA_DIR=str(data), CLAIMFLOW_DEMO_PASSWORD="bench-password",
                   RUST_LOG="warn", CLAIMFLOW_JWT_TTL_MINUTES="600")
        if self.pg_admin:
            db = f"cf_bench_{tag}".replace("-", "_")
            run(["psql", self.pg_admin, "-qc", f'DROP DATABASE IF EXISTS "{db}"'])
            run(["psql", self.pg_admin, "-qc", f'CREATE DATABASE "{db}"'])
            env["CLAIMFLOW_DATABASE_URL"] = self.pg_admin.rsplit("/", 1)[0] + "/" + db
        self.env = env
        return env

    def sql(self, statement: str) -> None:
        if self.pg_admin:
            run(["psql", self.env["CLAIMFLOW_DATABASE_URL"], "-qc", statement])
        else:
            import sqlite3
            con = sqlite3.connect(Path(self.env["CLAIMFLOW_DATA_DIR"]) / "claimflow.db")
            con.execute(statement)
            con.commit()
            con.close()

    def scalar(self, query: str) -> str:
        if self.pg_admin:
            return run(["psql", self.env["CLAIMFLOW_DATABASE_URL"], "-Atc", query]).strip()
        import sqlite3
        con = sqlite3.connect(Path(self.env["CLAIMFLOW_DATA_DIR"]) / "claimflow.db")
        value = con.execute(query).fetchone()[0]
        con.close()
        return str(value)


def load_world(env: dict, gen: Path) -> None:
    run([BIN, "seed-demo"], env=env)
    run([BIN, "user", "add", "--username", "batch_clerk", "--role", "clerk", "--region", REGION],
        env=env, stdin="batch-clerk-password\n")
    for kind in ("facilities", "persons", "enrolments"):
        run([BIN, "import", kind, str(gen / f"{kind}.csv"), "--as", "admin"], env=env)


def import_claims(env: dict, gen: Path) -> tuple[float, float, float]:
    """(claims/s as the import reports it, wall seconds, peak RSS MB)."""
    out, wall, rss = timed([BIN, "import", "claims", str(gen / "claims.csv"), "--batch", "2000",
                            "--as", "batch_clerk"], env)
    rate = float(re.search(r"([\d.]+) rows/s", out).group(1))
    return rate, wall, rss


def baseline(env: dict, kind: str, rows: int = 0) -> dict:
    args = [BIN, "baseline", kind] + (["--rows", str(rows)] if rows else [])
    return json.loads(run(args, env=env).strip().splitlines()[-1])


# --- P1 bulk intake ---------------------------------------------------------------------------

def p1(backend: Backend, gen: Path, claims: int, runs: int) -> dict:
    rates, walls, rsss, base = [], [], [], []
    for i in range(runs):
        env = backend.fresh(f"p1-{i}")
        load_world(env, gen)
        log(f"P1 {backend.name} run {i + 1}/{runs}: importing {claims:,} claims")
        rate, wall, rss = import_claims(env, gen)
        rates.append(rate), walls.append(wall), rsss.append(rss)
        log(f"  {rate:,.0f} claims/s, {rss:.0f} MB")
    for i in range(runs):
        env = backend.fresh(f"p1-base-{i}")
        base.append(baseline(env, "insert", claims)["rows_per_s"])
        log(f"  baseline insert {base[-1]:,.0f} rows/s")
    return {"rates": rates, "walls": walls, "rss": rsss, "baseline": base}


# --- P2/P3 the reviewer API under load ------------------------------------------------------

class Server:
    def __init__(self, env: dict, port: int):
        self.env = dict(env, CLAIMFLOW_BIND=f"127.0.0.1:{port}")
        self.base = f"http://127.0.0.1:{port}"
        self.started = time.monotonic()
        self.proc = subprocess.Popen([BIN, "serve"], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.ready_after = self.wait_ready()

    def wait_ready(self) -> float:
        deadline = self.started + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        return time.monotonic() - self.started
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"serve exited with {self.proc.returncode}")
            time.sleep(0.005)
        raise SystemExit("serve was not ready within 120 s")

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def login(self, username: str, password: str) -> str:
        req = urllib.request.Request(self.base + "/api/auth/login",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.load(r)["token"]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def document_kinds() -> list[str]:
    kinds = set()
    for path in (ROOT / "workflows").glob("*.toml"):
        wf = tomllib.loads(path.read_text())
        kinds.update(wf.get("required_documents", []))
        for c in wf.get("conditional_documents", []):
            kinds.update(c.get("required", []))
    return sorted(kinds)


def prepare_agency(backend: Backend, open_cases: int) -> tuple[Path, tuple[int, int]]:
    """Paper documents for the first `open_cases` claims (so clerks can accept them) and the
    agency's workers; returns the users file for agency.lua and the case id range."""
    env = backend.env
    kinds = " UNION ALL ".join(f"SELECT '{k}' AS kind" for k in document_kinds())
    # Fixture: the window received every document on paper (no file is read by the load).
    backend.sql(
        "INSERT INTO claim_documents (claim_id, kind, sha256, content_type, size_bytes, filename, "
        "status, uploaded_by, uploaded_at) "
        f"SELECT c.id, k.kind, 'paper', 'application/pdf', 0, 'paper.pdf', 'present', 1, 0 "
        f"FROM claims c CROSS JOIN ({kinds}) k WHERE c.id <= {open_cases} "
        "AND NOT EXISTS (SELECT 1 FROM claim_documents d WHERE d.claim_id = c.id)")
    users = []
    for role, n in WORKERS:
        for i in range(n):
            name = f"bench_{role}_{i}"
            run([BIN, "user", "add", "--username", name, "--role", role, "--region", REGION],
                env=env, stdin="bench-worker-password\n", check=False)
            users.append((role, name))
    lo, hi = backend.scalar("SELECT min(id) FROM cases"), backend.scalar("SELECT max(id) FROM cases")
    return users, (int(lo), int(hi))


def wrk(base: str, seconds: int, threads: int, script: Path | None, env: dict) -> dict:
    args = ["wrk", f"-t{threads}", f"-c{threads}", f"-d{seconds}s", "--timeout", "5s", "--latency"]
    if script:
        args += ["-s", str(script)]
    out = run([*args, base + ("/" if script else "/healthz")], env=env)
    if script:
        return json.loads(re.search(r"CF_RESULT (\{.*\})", out).group(1))
    # Plain wrk output for the baseline.
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    def us(label: str) -> float:
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_us": us("50"), "p99_us": us("99"),
            "errors": int(non2xx.group(1)) if non2xx else 0}


def p2_p3(backend: Backend, runs: int, seconds: int, port: int, open_cases: int) -> dict:
    users, (lo, hi) = prepare_agency(backend, open_cases)
    server = Server(backend.env, port)
    try:
        tokens = backend.work / f"{backend.name.lower()}-tokens.txt"
        tokens.write_text("".join(f"{role} {server.login(name, 'bench-worker-password')}\n"
                                  for role, name in users))
        n = len(users)
        load_env = dict(os.environ, CF_USERS=str(tokens), CF_CASES=f"{lo},{hi}")
        result = {"health": [], "p2": [], "p3": []}
        for i in range(runs):
            log(f"P2 {backend.name} run {i + 1}/{runs}")
            result["health"].append(wrk(server.base, seconds, n, None, load_env))
            r = wrk(server.base, seconds, n, ROOT / "bench" / "agency.lua", dict(load_env, CF_MIX="80,15,5"))
            result["p2"].append(r)
            log(f"  {r['requests'] / (r['duration_us'] / 1e6):,.0f} req/s, p99 {r['p99_us'] / 1e3:.1f} ms")
        for i in range(runs):
            log(f"P3 {backend.name} run {i + 1}/{runs}")
            r = wrk(server.base, seconds, n, ROOT / "bench" / "agency.lua", dict(load_env, CF_MIX="0,0,100"))
            result["p3"].append(r)
            log(f"  {r['acts'] / (r['duration_us'] / 1e6):,.0f} transitions/s")
        result["events"] = backend.scalar("SELECT count(*) FROM audit_events")
    finally:
        server.stop()
    result["commits"] = [baseline(backend.env, "commits", 5000)["rows_per_s"] for _ in range(runs)]
    return result


# --- P4 screening backtest ------------------------------------------------------------------

def p4(backend: Backend, gen: Path, runs: int) -> dict:
    times, rsss, base, screened = [], [], [], 0
    for i in range(runs):
        out_dir = backend.work / "screen-report"
        out, wall, rss = timed([BIN, "screen", "--from", "2019-01-01", "--to", "2020-12-31", "--out",
                                str(out_dir), "--truth", str(gen / "planted.csv")], backend.env)
        screened = int(re.search(r"(\d+) claims screened", out).group(1))
        times.append(wall), rsss.append(rss)
        log(f"P4 {backend.name} run {i + 1}/{runs}: {screened:,} claims in {wall:.1f} s, {rss:.0f} MB")
        summary = out
    for _ in range(runs):
        base.append(baseline(backend.env, "scan")["secs"])
    return {"times": times, "rss": rsss, "baseline": base, "screened": screened, "summary": summary}


# --- W policy what-if -----------------------------------------------------------------------

def draft_policy(work: Path) -> Path:
    """pingyang-2019 with the county deductible raised from 900 to 1,000 yuan."""
    text = (ROOT / "policies" / "pingyang-2019.toml").read_text()
    text = text.replace('{ id = "county", deductible = "900.00"', '{ id = "county", deductible = "1000.00"')
    path = work / "draft.toml"
    path.write_text(text)
    return path


def pw(backend: Backend, runs: int) -> dict:
    """`claimflow whatif` over 2019 on the backend's database; the baseline is P4's scan."""
    draft = draft_policy(backend.work)
    times, rsss, replayed = [], [], 0
    for i in range(runs):
        out_dir = backend.work / "whatif-report"
        _, wall, rss = timed([BIN, "whatif", "--policy", str(draft), "--from", "2019-01-01", "--to",
                              "2019-12-31", "--out", str(out_dir)], backend.env)
        summary = (out_dir / "summary.md").read_text()
        replayed = int(re.search(r"claims replayed (\d+)", summary).group(1))
        times.append(wall), rsss.append(rss)
        log(f"W {backend.name} run {i + 1}/{runs}: {replayed:,} claims replayed in {wall:.1f} s, {rss:.0f} MB")
    return {"times": times, "rss": rsss, "replayed": replayed}


# --- P5 footprint ---------------------------------------------------------------------------

def p5(backend: Backend, runs: int, port: int, cold_build: bool) -> dict:
    ready, idle = [], []
    for _ in range(runs):
        server = Server(backend.env, port)
        ready.append(server.ready_after)
        time.sleep(2)
        idle.append(server.rss_mb())
        server.stop()
    result = {"ready": ready, "idle": idle, "binary_mb": BIN.stat().st_size / 1e6}
    if cold_build:
        target = backend.work / "cold-target"
        shutil.rmtree(target, ignore_errors=True)
        log("P5 cold release build (a fresh target directory)")
        started = time.monotonic()
        run(["cargo", "build", "--release", "--quiet"], env=dict(os.environ, CARGO_TARGET_DIR=str(target)))
        result["cold_build_s"] = time.monotonic() - started
        shutil.rmtree(target, ignore_errors=True)
    return result


# --- report -----------------------------------------------------------------------------------

def machine() -> list[str]:
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 1024 / 1024
    pg = run(["psql", "--version"], check=False).strip()
    rustc = run(["rustc", "--version"], check=False).strip()
    wrk_v = run(["wrk", "-v"], check=False).splitlines()
    return [
        f"- CPU: {os.cpu_count()} × {cpu.group(1) if cpu else platform.processor()}",
        f"- Memory: {mem:.0f} GiB; OS: {platform.platform()}",
        f"- {rustc}; release profile (thin LTO); SQLite bundled (WAL); {pg}",
        f"- Load generator: {wrk_v[0] if wrk_v else 'wrk'} on the same machine (it shares the 2 cores with the server)",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
    ]


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def fmt(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def spread(xs: list[float], digits: int = 0) -> str:
    return " / ".join(fmt(x, digits) for x in xs)


def report(args, results: dict) -> str:
    out = ["# Benchmarks", "",
           f"Regenerated by `python3 bench/run.py` (`--runs {args.runs}`, {args.claims:,} claims, "
           f"{args.seconds} s load runs). Each figure is the median of the runs (all runs in brackets); "
           "each baseline was measured in the same run on the same machine. See README "
           "\"Performance\" for what the figures mean and the analysis of every missed target.", "",
           "## Machine", "", *machine(), ""]
    rates = [r for r, _ in results["gen"]]
    out += ["## G — the generator", "",
            f"`claimflow gen --seed 7 --claims {args.claims:,}`: the synthetic world (regions, facilities by "
            "level, persons with enrolments, claims of every family, planted fraud of every rule) "
            "written as CSV, timed from exec to exit by `/usr/bin/time -v`. No baseline: the target is absolute.", "",
            "| claims/s | peak RSS | target | verdict |", "| --- | --- | --- | --- |",
            f"| {fmt(median(rates))} ({spread(rates)}) | {fmt(median([m for _, m in results['gen']]))} MB | "
            f"≥ 200,000 claims/s | {verdict(median(rates) >= 200_000)} |"]
    if "gen_large" in results:
        rate, rss = results["gen_large"]
        out.append(f"| {fmt(rate)} ({args.large:,} claims, one run) | {fmt(rss)} MB | ≥ 200,000 claims/s | "
                   f"{verdict(rate >= 200_000)} |")
    out.append("")
    out += ["## P1 — bulk intake", "",
            f"{args.claims:,} generated claims (`claimflow gen --seed 7`) through the full intake path "
            "(person and facility lookup, eligibility, designation and duplicate checks, benefit "
            "calculation, screening, case routing, first audit event, findings), batches of 2,000. "
            "Baseline: a plain diesel insert of the same number of claim-shaped rows into one table "
            "without secondary indexes, in one transaction (`claimflow baseline insert`).", "",
            "| backend | claims/s | peak RSS | baseline rows/s | ratio | target | verdict |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results["p1"].items():
        rate, base, rss = median(r["rates"]), median(r["baseline"]), median(r["rss"])
        target = "≥ 50,000 claims/s, ≤ 300 MB, ≥ 0.5 × baseline" if name == "SQLite" else "(none set; same as SQLite for comparison)"
        ok = rate >= 50_000 and rss <= 300 and rate >= base / 2
        out.append(f"| {name} | {fmt(rate)} ({spread(r['rates'])}) | {fmt(rss)} MB ({spread(r['rss'])}) | "
                   f"{fmt(base)} ({spread(r['baseline'])}) | {rate / base:.3f} | {target} | {verdict(ok)} |")
    out += ["", "## P2 — the reviewer API under load", "",
            f"{sum(n for _, n in WORKERS)} connections on loopback, one agency worker each "
            f"({', '.join(f'{n} {r}' for r, n in WORKERS)}), each with its own JWT (`bench/agency.lua`): "
            "80 % queue reads (six filter shapes), 15 % case reads (random case), 5 % actions "
            "(claim-next, then the forward action the case offers with its version, or a release). "
            "Baseline: `GET /healthz` (no database, no token) with the same connections.", "",
            "| backend | requests/s | p50 | p99 | errors | baseline req/s | ratio | target | verdict |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results["p2"].items():
        rps = [x["requests"] / (x["duration_us"] / 1e6) for x in r["p2"]]
        p50 = [x["p50_us"] / 1e3 for x in r["p2"]]
        p99 = [x["p99_us"] / 1e3 for x in r["p2"]]
        errors = [x["status_errors"] + x["socket_errors"] + x["refused"] for x in r["p2"]]
        base = [x["rps"] for x in r["health"]]
        ok = median(rps) >= 10_000 and median(p99) <= 25 and max(errors) == 0
        out.append(f"| {name} | {fmt(median(rps))} ({spread(rps)}) | {median(p50):.2f} ms | "
                   f"{median(p99):.2f} ms ({spread(p99, 2)}) | {int(max(errors))} | {fmt(median(base))} | "
                   f"{median(rps) / median(base):.3f} | ≥ 10,000 req/s, p99 ≤ 25 ms, 0 errors | {verdict(ok)} |")
    out += ["", "## P3 — durable workflow transitions", "",
            "The same workers doing nothing but actions: claim-next (a committed lease with its audit "
            "event), then the forward action (a committed transition with its audit event, a new "
            "version and, when the stage changes, a new SLA clock). Transitions/s counts the "
            "forward actions answered 200; committed writes/s counts them with the claim-nexts. "
            "Baseline: one-row transactions into one table, one after another "
            "(`claimflow baseline commits`).", "",
            "| backend | transitions/s | committed writes/s | p99 | errors | baseline commits/s | ratio | target | verdict |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results["p2"].items():
        tps = [x["acts"] / (x["duration_us"] / 1e6) for x in r["p3"]]
        wps = [(x["acts"] + x["nexts"]) / (x["duration_us"] / 1e6) for x in r["p3"]]
        p99 = [x["p99_us"] / 1e3 for x in r["p3"]]
        errors = [x["status_errors"] + x["socket_errors"] + x["refused"] for x in r["p3"]]
        base = median(r["commits"])
        target = "≥ 5,000/s" if name == "SQLite" else "(SQLite's, for comparison)"
        out.append(f"| {name} | {fmt(median(tps))} ({spread(tps)}) | {fmt(median(wps))} | {median(p99):.2f} ms | "
                   f"{int(max(errors))} | {fmt(base)} ({spread(r['commits'])}) | {median(tps) / base:.3f} | {target} | "
                   f"{verdict(median(tps) >= 5000)} |")
    out += ["", "## P4 — screening backtest", "",
            "`claimflow screen --from 2019-01-01 --to 2020-12-31` over the imported history: every "
            "rule, scored against the planted fraud. Baseline: reading the same claims in the same "
            "pages, no rules (`claimflow baseline scan`).", "",
            "| backend | claims | time | claims/s | peak RSS | baseline time | ratio | target | verdict |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (name, size), r in results["p4"].items():
        t, rss, base = median(r["times"]), median(r["rss"]), median(r["baseline"])
        target = "≤ 60 s, ≤ 1 GB" if size >= 10_000_000 else "≤ 1 GB, flat"
        ok = rss <= 1024 and (t <= 60 or size < 10_000_000)
        out.append(f"| {name} | {r['screened']:,} | {t:.1f} s ({spread(r['times'], 1)}) | {fmt(r['screened'] / t)} | "
                   f"{rss:.0f} MB ({spread(r['rss'])}) | {base:.1f} s | {t / base:.2f} | {target} | {verdict(ok)} |")
    if "import_large" in results:
        rate, wall, rss = results["import_large"]
        out += ["", f"Loading the large history went through the same intake path: {fmt(rate)} claims/s, "
                f"{wall / 60:.1f} min, {rss:.0f} MB peak RSS (one run, not a P1 figure)."]
    out += ["", "Precision and recall of the last run (largest history):", "", "```",
            results["p4_summary"].strip(), "```"]
    if results.get("pw"):
        out += ["", "## W — policy what-if", "",
                "`claimflow whatif` with pingyang-2019's county deductible raised to 1,000 yuan, over the "
                "2019 claims priced under pingyang-2019 (the generator's other county has no policy, so "
                "about half the history is replayed). Baseline: P4's bare scan of the same database.", "",
                "| backend | claims replayed | time | claims/s | peak RSS | baseline time | ratio | target | verdict |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for (name, size), r in results["pw"].items():
            t, rss = median(r["times"]), median(r["rss"])
            base = median(results["p4"][(name, size)]["baseline"])
            per_million = t / max(r["replayed"], 1) * 1e6
            ok = rss <= 300 and per_million <= 15
            out.append(f"| {name} | {r['replayed']:,} | {t:.1f} s ({spread(r['times'], 1)}) | {fmt(r['replayed'] / t)} | "
                       f"{rss:.0f} MB ({spread(r['rss'])}) | {base:.1f} s | {t / base:.2f} | ≤ 15 s per 1M, ≤ 300 MB | {verdict(ok)} |")
    out += ["", "## P5 — footprint", "",
            "`claimflow serve` on an already migrated database: time from exec to the first 200 from "
            "`/readyz`, and resident memory after two idle seconds (scheduler running). "
            "No baseline: the targets are absolute.", "",
            "| backend | database | idle RSS | start to ready | target | verdict |",
            "| --- | --- | --- | --- | --- | --- |"]
    for name, r in results["p5"].items():
        idle, ready = median(r["idle"]), median(r["ready"])
        out.append(f"| {name} | {r.get('database', 'the P1 database')} | {idle:.1f} MB ({spread(r['idle'], 1)}) | "
                   f"{ready * 1e3:.0f} ms ({spread([x * 1e3 for x in r['ready']])}) | ≤ 50 MB, ≤ 1 s | "
                   f"{verdict(idle <= 50 and ready <= 1)} |")
    first = next(iter(results["p5"].values()))
    out += ["", "| figure | value |", "| --- | --- |", f"| release binary | {first['binary_mb']:.1f} MB |"]
    cold = [results["cold_build_s"]] if "cold_build_s" in results else []
    cold += [r["cold_build_s"] for r in results["p5"].values() if "cold_build_s" in r]
    if cold:
        out.append(f"| cold release build (`cargo build --release`, empty target directory, 2 cores) | {cold[0] / 60:.1f} min (one run) |")
    return "\n".join(out) + "\n"


RUN_ARGS = ("runs", "claims", "large", "seconds", "open_cases")


def keep(work: Path, results: dict) -> None:
    """What has been measured so far, in case a later scenario fails (a full disk ended one run)."""
    (work / "results.partial.json").write_text(json.dumps(
        {k: (v if k not in ("p4", "pw") else {f"{b} {n}": r for (b, n), r in v.items()}) for k, v in results.items()},
        indent=1, default=str))


def save(args, work: Path, results: dict) -> None:
    """results.json beside the report (what --reuse reads), then the report."""
    (work / "results.json").write_text(json.dumps(
        {"args": {k: getattr(args, k) for k in RUN_ARGS},
         **{k: (v if k not in ("p4", "pw") else {f"{b} {n}": r for (b, n), r in v.items()}) for k, v in results.items()}},
        indent=1, default=str))
    Path(args.out).write_text(report(args, results))
    log(f"wrote {args.out}")


def reuse(args, work: Path) -> None:
    """Reports an earlier run's results, measuring P5 for any backend they lack."""
    results = json.loads(Path(args.reuse).read_text())
    for k, v in results.pop("args", {}).items():
        setattr(args, k, v)
    for part in ("p4", "pw"):
        if part in results:
            results[part] = {(key.split()[0], int(key.split()[1])): r for key, r in results[part].items()}
    if "ready" in results.get("p5", {}):  # a report from before P5 ran on every backend
        results["p5"] = {"SQLite": results["p5"]}
    results.setdefault("p5", {})
    backends = [Backend("SQLite", work)] + ([Backend("PostgreSQL", work, pg_admin=args.pg)] if args.pg else [])
    for b in backends:
        if b.name in results["p5"]:
            continue
        env = b.fresh("p5")
        run([BIN, "seed-demo"], env=env)
        log(f"P5 {b.name} on a fresh database with the demo data")
        results["p5"][b.name] = p5(b, args.runs, args.port, False)
        results["p5"][b.name]["database"] = "a fresh database with the demo data"
    save(args, work, results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--claims", type=int, default=1_000_000, help="P1-P4 history size")
    ap.add_argument("--large", type=int, default=10_000_000, help="P4's large history on SQLite (0: skip)")
    ap.add_argument("--seconds", type=int, default=20, help="length of each load run")
    ap.add_argument("--open-cases", type=int, default=300_000, help="claims given paper documents for P2/P3")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/test", help="'' to skip PostgreSQL")
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--no-cold-build", action="store_true")
    ap.add_argument("--quick", action="store_true", help="20,000 claims, 1 run, 5 s loads, no large history")
    ap.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument("--work", help="working directory (default: a temporary one, removed)")
    ap.add_argument("--reuse", metavar="RESULTS_JSON",
                    help="report from an earlier run's results.json, measuring only what it lacks "
                         "(P5 of a backend, on a freshly migrated database with the demo data)")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.claims, args.large, args.seconds, args.open_cases = 1, 20_000, 0, 5, 20_000
        args.no_cold_build = True
    for tool in ("wrk", "/usr/bin/time"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed: apt-get install wrk time")
    # On a fresh clone the opening build is itself a cold build: time it instead of a second one.
    cold_start = not (ROOT / "target" / "release").exists()
    log("building the release binary" + (" (cold: the target directory is empty)" if cold_start else ""))
    started = time.monotonic()
    run(["cargo", "build", "--release", "--quiet"], env=dict(os.environ))
    opening_build_s = time.monotonic() - started
    work = Path(args.work or tempfile.mkdtemp(prefix="claimflow-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    # About 3.4 KB of SQLite database per claim imported through intake (1M: 3.36 GB), plus
    # the CSV and the bounded WAL; fail now rather than an hour in.
    need_gb = (args.large * 4_000 + args.claims * 4_000 * 2) / 1e9
    free_gb = shutil.disk_usage(work).free / 1e9
    if not args.reuse and free_gb < need_gb:
        raise SystemExit(f"{work}: {free_gb:.0f} GB free, about {need_gb:.0f} GB needed (--large {args.large:,})")
    try:
        if args.reuse:
            reuse(args, work)
            return
        gen = work / "gen"
        results_gen = []
        for i in range(args.runs):
            shutil.rmtree(gen, ignore_errors=True)
            _, wall, rss = timed([BIN, "gen", "--seed", "7", "--claims", str(args.claims), "--out", str(gen)],
                                 dict(os.environ))
            results_gen.append((args.claims / wall, rss))
            log(f"G run {i + 1}/{args.runs}: {args.claims:,} claims generated in {wall:.2f} s, {rss:.0f} MB")
        backends = [Backend("SQLite", work)]
        if args.pg:
            backends.append(Backend("PostgreSQL", work, pg_admin=args.pg))
        results = {"p1": {}, "p2": {}, "p4": {}, "p5": {}, "gen": results_gen}
        if cold_start:
            results["cold_build_s"] = opening_build_s
        for b in backends:
            results["p1"][b.name] = p1(b, gen, args.claims, args.runs)
            keep(work, results)
            # Back to the last import's database for P2-P4.
            b.env = dict(b.env)
            b.env["CLAIMFLOW_DATA_DIR"] = str(work / f"{b.name.lower()}-p1-{args.runs - 1}")
            if b.pg_admin:
                b.env["CLAIMFLOW_DATABASE_URL"] = b.pg_admin.rsplit("/", 1)[0] + f"/cf_bench_p1_{args.runs - 1}"
            r = p4(b, gen, args.runs)
            results["p4"][(b.name, args.claims)] = r
            results["p4_summary"] = r["summary"]
            results.setdefault("pw", {})[(b.name, args.claims)] = pw(b, args.runs)
            keep(work, results)
            results["p2"][b.name] = p2_p3(b, args.runs, args.seconds, args.port, args.open_cases)
            keep(work, results)
            results["p5"][b.name] = p5(b, args.runs, args.port,
                                       not (args.no_cold_build or cold_start) and b.name == "SQLite")
            results["p5"][b.name]["database"] = f"the {args.claims:,}-claim database of P1"
            keep(work, results)
        if args.large:
            large = work / "gen-large"
            _, wall, rss = timed([BIN, "gen", "--seed", "7", "--claims", str(args.large), "--out", str(large)],
                                 dict(os.environ))
            results["gen_large"] = (args.large / wall, rss)
            log(f"G {args.large:,} claims generated in {wall:.1f} s, {rss:.0f} MB")
            b = Backend("SQLite", work)
            env = b.fresh("large")
            load_world(env, large)
            log(f"P4 loading {args.large:,} claims through intake")
            results["import_large"] = import_claims(env, large)
            r = p4(b, large, args.runs)
            results["p4"][("SQLite", args.large)] = r
            results["p4_summary"] = r["summary"]
            results.setdefault("pw", {})[("SQLite", args.large)] = pw(b, args.runs)
        save(args, work, results)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
        if args.pg:
            for name in run(["psql", args.pg, "-Atc", "SELECT datname FROM pg_database WHERE datname LIKE 'cf_bench_%'"]).split():
                run(["psql", args.pg, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=False)


if __name__ == "__main__":
    main()
