"""The drill's figures, each from evidence outside the app's own say-so where there is any:

- the sandbox's delivery log (what the portal sent, and the status the app answered),
- the database (inbox rows, their settlement, the activity mirror, the portals' states),
- the sandbox's token-endpoint log (refreshes) and its per-portal request counts,
- gunicorn's access log (every status the app answered, to anyone),
- the load's own record of what pages, actions and API calls answered, and the workers' output.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from app.models import read_payload
from bench.drill_load import FORGED_HANDLER, USER_KINDS, natural_key
from bench.drill_stack import Stack, sandbox_control
from bench.noisy import lines as noisy_lines

BATCH_LINE = re.compile(r"batch: (\d+) claimed, (\d+) done, (\d+) failed")
FENCE_MISS = re.compile(r"(\d+) events were claimed again by another worker")
ACCESS_LINE = re.compile(r"^\[([^\]]+)\] (\S+) (\S+) (\d{3}) ([\d.]+)$")
WORKER_FETCH = {"crm.activity.get"}
WORKER_ENRICH = {"crm.activity.layout.blocks.set"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] if ordered else 0.0


def build_report(*, run: Any, stack: Stack, load: Any, portals: list[Any], features: Any, args: Any) -> dict:
    """Gather every figure and check the must-be ones."""
    deliveries = sandbox_control(stack, "deliveries", method="GET")["deliveries"]
    inbox, mirror, states = read_database(stack.database_url)
    events = event_figures(deliveries, inbox, load, stack)
    applied, twice, modes = read_effects(stack.database_url)
    mirrored = mirror_figures(stack, portals, deliveries, mirror)
    events["lost"] = mirrored["diverging"]
    events["processed_twice"] = twice
    events["changes_applied"] = applied
    report: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_seconds": round(run.load_ended - run.load_started, 1),
        "total_seconds": round(datetime.now(UTC).timestamp() - run.started, 1),
        "setup": {
            "portals": len(portals),
            "web": "gunicorn --preload, 4 workers x 4 threads (the Procfile's web, APP_ENV=production)",
            "workers": "2 x flask --app app worker --lease 20 --backoff 1",
            "database": "PostgreSQL (throwaway cluster)" if not args.database_url else "DRILL_DATABASE_URL",
            "portal_states_at_end": dict(Counter(states.values())),
            "backstop_modes": modes,
            "app_down_seconds": round(run.app_down[1] - run.app_down[0], 1) if run.app_down else 0,
            "plans": {
                p.domain: "enterprise (5/s, burst 250)"
                if i < len(portals) // 2
                else "standard (2/s, burst 50)"
                for i, p in enumerate(portals)
            },
        },
        "load_kinds": {
            "placement": features.placement,
            "actions": features.actions,
            "api": features.api,
            "notes": features.notes,
        },
        "faults": run.faults,
        "events": events,
        "refreshes": refresh_figures(stack, run, portals),
        "users": user_figures(load, run.started),
        "app_5xx": access_figures(stack, run),
        "inbox_lag": lag_figures(inbox, load),
        "portal_requests": request_figures(stack, inbox),
        "mirror": mirrored,
        "workers": worker_figures(stack, inbox),
        "load_counts": dict(sorted(load.changes.items())),
        "drained": run.drained,
        "process_exits": run.exits,
    }
    report["inbox_lag"].update(lag_floor(stack, portals, report["setup"]["plans"]))
    report["must"] = must_be(report)
    report["ok"] = all(item["ok"] for item in report["must"])
    return report


STATE_FIELDS = ("LAST_UPDATED", "SUBJECT", "DEADLINE", "COMPLETED", "RESPONSIBLE_ID")  # what the load changes


def read_database(url: str) -> tuple[list[dict], dict[tuple[str, int], tuple[bool, str]], dict[str, str]]:
    """Inbox rows, the mirror ((member_id, activity id) -> (deleted, state)) and the portals' states."""
    engine = create_engine(url, pool_pre_ping=True)
    with engine.connect() as connection:
        inbox = [
            dict(row._mapping)
            for row in connection.execute(
                text(
                    "SELECT id, event, member_id, payload, status, attempts, received_at, processed_at"
                    " FROM inbox"
                )
            )
        ]
        mirror = {
            (row.member_id, int(row.activity_id)): (bool(row.deleted), state_of(row.fields))
            for row in connection.execute(
                text("SELECT member_id, activity_id, deleted, fields FROM activities")
            )
        }
        states = dict(connection.execute(text("SELECT member_id, state FROM portals")).tuples().all())
    engine.dispose()
    return inbox, mirror, states


def state_of(fields: Any) -> str:
    """The fields the load changes, as one comparable text (LAST_UPDATED alone has second resolution)."""
    values = fields if isinstance(fields, dict) else json.loads(fields or "{}")
    return json.dumps([str(values.get(name) or "") for name in STATE_FIELDS])


def read_effects(url: str) -> tuple[int, int, dict[str, str]]:
    """(changes applied, applied more than once) from the workers' effects log; the portals' modes."""
    engine = create_engine(url, pool_pre_ping=True)
    with engine.connect() as connection:
        applied = connection.execute(text("SELECT count(*) FROM mirror_effects")).scalar() or 0
        twice = connection.execute(
            text(
                "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM mirror_effects"
                " GROUP BY member_id, activity_id, version HAVING count(*) > 1) AS repeated"
            )
        ).scalar()
        modes = dict(connection.execute(text("SELECT domain, backstop FROM portals")).tuples().all())
    engine.dispose()
    return int(applied), int(twice or 0), {d: str(m) for d, m in modes.items()}


def row_key(row: dict) -> tuple[str, str, str, str, str]:
    payload = row["payload"] if isinstance(row["payload"], dict) else read_payload(row["payload"])
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    fields = data.get("FIELDS") if isinstance(data.get("FIELDS"), dict) else {}
    return (
        row["member_id"],
        str(payload.get("event", "")).upper(),
        str(payload.get("event_handler_id", "")),
        str(fields.get("ID", "")),
        str(payload.get("ts", "")),
    )


def event_figures(deliveries: list[dict], inbox: list[dict], load: Any, stack: Stack) -> dict[str, Any]:
    """Sent, accepted, rejected, processed: deliveries against inbox rows. (Lost and processed twice are
    counted by effects, in build_report: the mirror against the portal, and the effects log.)"""
    activity = [d for d in deliveries if d["event"].startswith("ONCRMACTIVITY")]
    answered = Counter(str(d["status"] or d["error"] or "not sent")[:40] for d in activity)
    delivered = [d for d in activity if d["status"] == 200]
    keys_delivered = Counter(natural_key(d["body"]) for d in delivered)
    rows_by_key: dict[tuple, list[dict]] = defaultdict(list)
    for row in inbox:
        rows_by_key[row_key(row)].append(row)
    done = {k for k, rows in rows_by_key.items() if any(r["status"] == "done" for r in rows)}
    lost = [k for k in keys_delivered if k not in done]
    samples = load.recorder.samples
    forged = [s for s in samples if s.kind == "forged"]
    duplicates = [s for s in samples if s.kind == "duplicate"]
    fence_misses = worker_fence_misses(stack)
    twice_rows = sum(len(rows) - 1 for rows in rows_by_key.values() if len(rows) > 1)
    forged_stored = sum(1 for k in rows_by_key if k[2] == FORGED_HANDLER)
    return {
        "sent_by_portal": len(activity),
        "portal_delivery_answers": dict(answered),
        "accepted": len(delivered),
        "same_second_collisions": sum(n - 1 for n in keys_delivered.values() if n > 1),
        "duplicates_reposted": len(duplicates),
        "duplicate_answers": dict(Counter(f"{s.status}:{s.note}" for s in duplicates)),
        "forged_sent": len(forged),
        "rejected_forged": sum(1 for s in forged if s.status == 401),
        "forged_answers": dict(Counter(str(s.status) for s in forged)),
        "forged_stored": forged_stored,
        "inbox_rows": len(inbox),
        "inbox_by_status": dict(Counter(r["status"] for r in inbox)),
        "processed": sum(1 for r in inbox if r["status"] == "done"),
        "retried": sum(1 for r in inbox if r["status"] == "done" and r["attempts"] > 1),
        "unanswered_by_the_app": sum(1 for d in activity if d["status"] is None),
        "accepted_never_processed": len(lost),
        "accepted_never_processed_examples": [list(k) for k in lost[:5]],
        "offline_rows": sum(1 for r in inbox if _payload(r).get("offline")),
        "inbox_evidence": {
            "inbox_rows_sharing_a_delivery": twice_rows,
            "worker_fence_misses": fence_misses,
        },
        "stored_without_delivery": sum(1 for k in rows_by_key if k not in keys_delivered),
    }


def _payload(row: dict) -> dict:
    return row["payload"] if isinstance(row["payload"], dict) else read_payload(row["payload"])


def worker_fence_misses(stack: Stack) -> int:
    """Events a worker settled after another had claimed them again (its effects applied a second time)."""
    total = 0
    for path in stack.workdir.glob("worker*.log"):
        total += sum(int(m.group(1)) for m in FENCE_MISS.finditer(path.read_text(errors="replace")))
    return total


def worker_figures(stack: Stack, inbox: list[dict]) -> dict[str, Any]:
    """The workers' own tally (stdout) against the inbox: settles reported vs rows done."""
    claimed = settled = failed = 0
    for path in stack.workdir.glob("worker*.log"):
        for match in BATCH_LINE.finditer(path.read_text(errors="replace")):
            claimed += int(match.group(1))
            settled += int(match.group(2))
            failed += int(match.group(3))
    done = sum(1 for r in inbox if r["status"] == "done")
    return {
        "claims_reported": claimed,
        "settles_reported": settled,
        "failures_reported": failed,
        "rows_done": done,
        "note": "settles reported <= rows done unless a worker settled an event twice "
        "(a SIGKILLed worker's last batch may be missing from its output)",
    }


def refresh_figures(stack: Stack, run: Any, portals: list[Any]) -> dict[str, Any]:
    """Refresh requests that reached the OAuth server, per portal, between one storm and the next."""
    grants = [
        g
        for g in sandbox_control(stack, "grants", method="GET")["grants"]
        if g["grant_type"] == "refresh_token"
    ]
    bounds = [*run.storms, float("inf")]
    per_expiry = []
    for index, start in enumerate(run.storms):
        for portal in portals:
            count = sum(
                1
                for g in grants
                if g["member_id"] == portal.member_id and start <= g["at"] < bounds[index + 1]
            )
            per_expiry.append({"storm": index + 1, "portal": portal.domain, "refreshes": count})
    before = sum(1 for g in grants if not run.storms or g["at"] < run.storms[0])
    return {
        "storms": len(run.storms),
        "per_expiry": per_expiry,
        "refresh_requests": len(grants),
        "refused": sum(1 for g in grants if not g["ok"]),
        "before_first_storm": before,
        "min": min((p["refreshes"] for p in per_expiry), default=0),
        "max": max((p["refreshes"] for p in per_expiry), default=0),
    }


def user_figures(load: Any, started: float) -> dict[str, Any]:
    """What people (and external systems) got: statuses and latency per kind."""
    out: dict[str, Any] = {}
    for kind in (*USER_KINDS, "metrics"):
        samples = [s for s in load.recorder.samples if s.kind == kind]
        if not samples:
            continue
        seconds = [s.seconds * 1000 for s in samples if s.status]
        out[kind] = {
            "requests": len(samples),
            "answers": dict(Counter(str(s.status) for s in samples)),
            "p50_ms": round(percentile(seconds, 0.5), 1),
            "p99_ms": round(percentile(seconds, 0.99), 1),
            "max_ms": round(max(seconds, default=0.0), 1),
        }
    pages = [s for s in load.recorder.samples if s.kind == "page" and s.status]
    out["page_by_portal"] = {
        portal: {
            "opens": len(mine),
            "p50_ms": round(percentile([s.seconds * 1000 for s in mine], 0.5), 1),
            "p99_ms": round(percentile([s.seconds * 1000 for s in mine], 0.99), 1),
        }
        for portal in sorted({s.portal for s in pages})
        for mine in [[s for s in pages if s.portal == portal]]
    }
    people = [s for s in load.recorder.samples if s.kind in USER_KINDS]
    out["slowest"] = [_sample_row(s, started) for s in sorted(people, key=lambda s: -s.seconds)[:8]]
    busy = [s for s in people if s.status == 503]
    out["503_to_users"] = len(busy)
    out["503_samples"] = [_sample_row(s, started) for s in busy[:20]]  # which kind, portal and moment
    return out


def _sample_row(sample: Any, started: float) -> dict[str, Any]:
    """One request a person made, for the report: what, where, when, how long, and the answer."""
    return {
        "kind": sample.kind,
        "portal": sample.portal,
        "at": round(sample.at - started, 1),
        "seconds": round(sample.seconds, 2),
        "status": sample.status,
    }


def access_figures(stack: Stack, run: Any) -> dict[str, Any]:
    """Every 5xx in gunicorn's access log, split by whether the request was in flight during the outage."""
    inside: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    total = 0
    window = run.outage
    for line in stack.access_log.read_text(errors="replace").splitlines():
        match = ACCESS_LINE.match(line.strip())
        if not match:
            continue
        total += 1
        status = int(match.group(4))
        if status < 500:
            continue
        ended = datetime.strptime(match.group(1), "%d/%b/%Y:%H:%M:%S %z").timestamp()
        began = ended - float(match.group(5))
        path = re.sub(r"/\d+", "/N", match.group(3))
        label = f"{status} {match.group(2)} {path}"
        # in flight while the database restarted (the log has whole seconds: one second of slack each side)
        if window and began - 1 <= window[1] and ended + 1 >= window[0]:
            inside[label] += 1
        else:
            outside[label] += 1
    answered_5xx = sum(outside.values()) + sum(inside.values())
    return {
        "requests_answered": total,
        "total_5xx": answered_5xx,
        "outage_share": round(sum(inside.values()) / answered_5xx, 3) if answered_5xx else 0.0,
        "outside_outage": sum(outside.values()),
        "outside_outage_by_route": dict(outside),
        "during_outage": sum(inside.values()),
        "during_outage_by_route": dict(inside),
        "outage_seconds": round(window[1] - window[0], 1) if window else None,
    }


def lag_figures(inbox: list[dict], load: Any) -> dict[str, Any]:
    """Receive-to-processed time per event (database), and the /metrics lag gauge as scraped."""
    lags = [
        (r["processed_at"] - r["received_at"]).total_seconds()
        for r in inbox
        if r["status"] == "done" and r["processed_at"] and r["received_at"]
    ]
    gauge = [lag for _, lag, _ in load.lag_samples]
    by_event: dict[str, list[float]] = {}
    for r in inbox:
        if r["status"] == "done" and r["processed_at"] and r["received_at"]:
            by_event.setdefault(r["event"], []).append((r["processed_at"] - r["received_at"]).total_seconds())
    return {
        "by_event": {  # which events wait: p50 and p99 per event name
            name: [round(percentile(v, 0.5), 2), round(percentile(v, 0.99), 2), len(v)]
            for name, v in sorted(by_event.items())
        },
        "per_event_p50_s": round(percentile(lags, 0.5), 2),
        "per_event_p99_s": round(percentile(lags, 0.99), 2),
        "per_event_max_s": round(max(lags, default=0.0), 2),
        "metrics_gauge_p99_s": round(percentile(gauge, 0.99), 2),
        "metrics_gauge_max_s": round(max(gauge, default=0.0), 2),
        "metrics_scrapes": len(gauge),
    }


def lag_floor(stack: Stack, portals: list[Any], plans: dict[str, str]) -> dict[str, Any]:
    """The floor under the inbox lag: per portal, the worker's requests beyond the bucket's background share
    (app.portals.ratelimit: what calls nobody waits on may fill) divided by the portal's rate; the largest."""
    from app.portals.ratelimit import limits_for

    rows = sandbox_control(stack, "requests", method="GET")["requests"]
    floors = {}
    for portal in portals:
        host = portal.url.split("://", 1)[1].lower()
        made = sum(r["count"] for r in rows if r["domain"] == host and _worker_request(r))
        limits = limits_for("ent" if plans.get(portal.domain, "").startswith("enterprise") else None)
        floors[portal.domain] = round(max(0, made - limits.background) / limits.rate, 2)
    floor = max(floors.values(), default=0.0)
    return {"floor_s": floor, "floor_by_portal": floors, "bound_s": round(1.5 * floor + 2.0, 2)}


def _worker_request(row: dict) -> bool:
    """A request the worker makes: its batches of reads or blocks, and the offline queue's methods."""
    commands = set(filter(None, row["commands"].split("+")))
    if row["method"] == "batch":
        return bool(commands) and (commands <= WORKER_FETCH or commands <= WORKER_ENRICH)
    return row["method"].startswith("event.offline.") or row["method"] == "feature.get"


def request_figures(stack: Stack, inbox: list[dict]) -> dict[str, Any]:
    """Portal HTTP requests (the sandbox's count, faulted and limited ones included), by what made them."""
    rows = sandbox_control(stack, "requests", method="GET")["requests"]
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for row in rows:
        commands = set(filter(None, row["commands"].split("+")))
        if row["method"] == "batch" and commands and commands <= WORKER_FETCH:
            kind = "worker fetch (batch of crm.activity.get)"
        elif row["method"] == "batch" and commands and commands <= WORKER_ENRICH:
            kind = "worker enrichment (batch of layout.blocks.set)"
        elif row["method"] == "batch" and "profile" in commands:
            kind = "page opens (batch with profile)"
        else:
            kind = row["method"]
        kinds[kind] += row["count"]
        statuses[str(row["status"])] += row["count"]
    processed = sum(1 for r in inbox if r["status"] == "done")
    fetched = sum(1 for r in inbox if r["status"] == "done" and r["event"] != "ONCRMACTIVITYDELETE")
    worker = sum(n for k, n in kinds.items() if k.startswith("worker"))
    return {
        "by_kind": dict(kinds.most_common()),
        "by_status": dict(statuses),
        "worker_requests": worker,
        "per_processed_event": round(worker / processed, 4) if processed else None,
        "fetch_per_fetched_event": round(kinds["worker fetch (batch of crm.activity.get)"] / fetched, 4)
        if fetched
        else None,
    }


def mirror_figures(stack: Stack, portals: list[Any], deliveries: list[dict], mirror: dict) -> dict[str, Any]:
    """Every activity the portal changed during the run (whatever the app answered, or if it was down)
    against the mirror after the drain: its final state must be there (deleted: absent or marked)."""
    named: dict[str, set[int]] = defaultdict(set)
    for d in deliveries:
        key = natural_key(d["body"])
        if d["event"].startswith("ONCRMACTIVITY") and key[3].isdigit():
            named[key[0]].add(int(key[3]))
    wrong: Counter[str] = Counter()
    checked = 0
    for portal in portals:
        alive = portal_activities(stack, portal.member_id)
        for activity_id in named[portal.member_id]:
            checked += 1
            deleted, updated = mirror.get((portal.member_id, activity_id), (None, ""))
            if activity_id in alive and deleted is None:
                wrong["exists, not mirrored"] += 1
            elif activity_id in alive and deleted:
                wrong["exists, mirrored as deleted"] += 1
            elif activity_id not in alive and deleted is False:
                wrong["deleted, mirrored as alive"] += 1
            elif activity_id in alive and updated != alive[activity_id]:
                wrong["mirrored, but an older version"] += 1
    return {"activities_checked": checked, "diverging": sum(wrong.values()), "by_kind": dict(wrong)}


def portal_activities(stack: Stack, member_id: str) -> dict[int, str]:
    """Every activity on the portal with its state, read as a robot (no rate limit), keyset pages."""
    found: dict[int, str] = {}
    last = 0
    while True:
        params = {
            "select": ["ID", *STATE_FIELDS],
            "order": {"ID": "ASC"},
            "filter": {">ID": last},
            "start": -1,
        }
        payload = {"member_id": member_id, "method": "crm.activity.list", "params": params}
        page = {int(i["ID"]): state_of(i) for i in sandbox_control(stack, "robot", payload)["result"]}
        found.update(page)
        if len(page) < 50:
            return found
        last = max(page)


def must_be(report: dict[str, Any]) -> list[dict[str, Any]]:
    events, refreshes = report["events"], report["refreshes"]
    checks = [
        ("changes lost (final state not in the mirror, whatever the app answered)", events["lost"], 0),
        ("changes applied twice (the workers' effects log)", events["processed_twice"], 0),
        ("events accepted (200) but never processed", events["accepted_never_processed"], 0),
        ("forged events stored", events["forged_stored"], 0),
        ("forged events answered 200", events["forged_answers"].get("200", 0), 0),
        ("duplicates stored again", report["events"]["duplicate_answers"].get("200:accepted", 0), 0),
        ("inbox drained after the load", int(report["drained"]), 1),
        ("processes that ended on their own (web, workers, sandbox)", len(report["process_exits"]), 0),
        ("503s that reached a user", report["users"]["503_to_users"], 0),
        ("5xx the app answered outside the database outage", report["app_5xx"]["outside_outage"], 0),
        (
            "portals needing reinstall at the end",
            report["setup"]["portal_states_at_end"].get("needs_reinstall", 0),
            0,
        ),
    ]
    if refreshes["storms"]:
        checks += [
            ("fewest refreshes per expiry (per portal and storm)", refreshes["min"], 1),
            ("most refreshes per expiry (per portal and storm)", refreshes["max"], 1),
        ]
    result = [{"name": n, "value": v, "expected": e, "ok": v == e} for n, v, e in checks]
    lag = report["inbox_lag"]
    result.append(
        {
            "name": "inbox lag p99 within 1.5 x floor + 2 s",
            "value": lag["per_event_p99_s"],
            "expected": f"<= {lag['bound_s']}",
            "ok": lag["per_event_p99_s"] <= lag["bound_s"],
        }
    )
    return result


def write_report(report: dict[str, Any], base: Path) -> None:
    """The report as JSON and Markdown beside each other (the folder is made if it is not there)."""
    base.parent.mkdir(parents=True, exist_ok=True)
    base.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    base.with_suffix(".md").write_text(markdown(report))


def markdown(report: dict[str, Any]) -> str:
    events, users, lag, requests_ = (
        report["events"],
        report["users"],
        report["inbox_lag"],
        report["portal_requests"],
    )
    page = users.get("page", {})
    lines = [
        f"# Drill report ({report['generated_at']})",
        "",
        f"{report['load_seconds']:g} s of load on {report['setup']['portals']} portals, "
        f"{report['total_seconds']:g} s in all; {len(report['faults'])} faults injected. "
        f"Result: **{'PASS' if report['ok'] else 'FAIL'}**.",
        "",
        "| figure | value | must be |",
        "|---|---|---|",
        f"| events sent by the portal / duplicates re-posted / forged | {events['sent_by_portal']} / "
        f"{events['duplicates_reposted']} / {events['forged_sent']} | |",
        f"| accepted (portal deliveries answered 200) | {events['accepted']} | |",
        f"| rejected (forged: 401; 503 while the database was down) | {events['rejected_forged']} of "
        f"{events['forged_sent']}; stored {events['forged_stored']} | none stored or answered 200 |",
        f"| processed | {events['processed']} | |",
        f"| app down (web stopped) / portal deliveries it never answered | "
        f"{report['setup']['app_down_seconds']} s / {events['unanswered_by_the_app']} | |",
        f"| offline-queue records taken into the inbox | {events['offline_rows']} | |",
        f"| lost (changes whose final state is not in the mirror) | {events['lost']} | 0 |",
        f"| processed twice (changes applied more than once, by effects) | {events['processed_twice']} "
        f"of {events['changes_applied']} | 0 |",
        f"| refreshes per expiry (min–max over portals × storms) | {report['refreshes']['min']}–"
        f"{report['refreshes']['max']} ({report['refreshes']['storms']} storms) | 1 |",
        f"| 503s that reached a user | {users['503_to_users']} | 0 |",
        f"| 5xx the app answered (outside the DB outage) | {report['app_5xx']['outside_outage']} | 0 |",
        f"| 5xx the app answered, whole run (share during the {report['app_5xx']['outage_seconds']} s DB "
        f"outage) | {report['app_5xx']['total_5xx']} ({report['app_5xx']['outage_share']:.0%}) | reported |",
        f"| page-open p50 / p99 | {page.get('p50_ms', 0)} ms / {page.get('p99_ms', 0)} ms | |",
        f"| inbox lag p99 (received → processed) / floor | {lag['per_event_p99_s']} s / {lag['floor_s']} s "
        f"| ≤ 1.5 × floor + 2 s = {lag['bound_s']} s |",
        f"| portal requests per processed event (worker) | {requests_['per_processed_event']} | |",
        f"| backstop mode by portal | {', '.join(sorted(report['setup']['backstop_modes'].values()))} | |",
        "",
    ]
    plans = report["setup"]["plans"]
    by_portal = ", ".join(
        f"{plans.get(d, '?').split(' ')[0]} {v['p99_ms']:g} ms"
        for d, v in users.get("page_by_portal", {}).items()
    )
    lines += [
        f"Page-open p99 by portal: {by_portal}. Faults: "
        + "; ".join(f["fault"] for f in report["faults"] if f["fault"] != "drained")
        + ".",
        "",
    ]
    if users.get("503_samples"):
        lines += ["503s that reached a user (kind, portal, s into the load, s taken):", ""]
        rows = users["503_samples"]
        lines += [f"- {r['kind']} {r['portal']} at {r['at']} s, {r['seconds']} s" for r in rows]
        lines += [""]
    outside = report["app_5xx"].get("outside_outage_by_route")
    if outside:
        lines += [f"5xx outside the DB outage by route: {outside}", ""]
    if report.get("noisy"):
        lines += ["Noisy neighbour (the last phase):", ""]
        lines += [f"- {line}" for line in noisy_lines(report["noisy"])]
        lines += [""]
    failed = [m for m in report["must"] if not m["ok"]]
    lines += [f"- VIOLATED: {m['name']}: {m['value']} (must be {m['expected']})" for m in failed]
    lines += [f"- {note}" for note in report["load_kinds"]["notes"]]
    return "\n".join(lines) + "\n"
