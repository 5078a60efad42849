"""Measure a bulk request end to end against a real Knot DNS (not collected by pytest).

    .venv/bin/python tests/suspensions/bench_bulk.py [names] [executed] [/usr/bin/kdig]

Builds a registry zone with `names` delegations, parses a CSV of them, files one bulk
request (SQLite, validation, lake context), approves it twice and executes the first
`executed` names through RFC 2136 + TSIG (the rest are marked refused before approval so
the run stays short), then reinstates three of them. Prints seconds per phase."""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parents[1])]

from sqlalchemy import select  # noqa: E402

from bluelamp.act.cases.bulk import parse_names  # noqa: E402
from bluelamp.act.cases.desk import NewRequest, build_desk  # noqa: E402
from bluelamp.settings import Settings  # noqa: E402
from bluelamp.store.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from bluelamp.store.models.suspensions import Agency, ItemStatus  # noqa: E402
from suspensions import knot as knot_mod  # noqa: E402


def main(total: int, executed: int, kdig: str | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="bl-bench-"))
    extra = "".join(f"n{i} NS ns1.hosting.example.\nn{i} NS ns2.hosting.example.\n"
                    for i in range(total))
    knot_mod.REG_ZONE = knot_mod.REG_ZONE + extra
    server = knot_mod.Knot("/usr/sbin/knotd", work)
    server.start()
    try:
        settings = Settings.model_validate({
            "database": {"url": f"sqlite:///{work / 'b.db'}"}, "lake": {"path": str(work)},
            "suspensions": {"zones": [knot_mod.ZONE], "port": server.port,
                            "tsig_name": knot_mod.KEY_NAME, "tsig_secret": server.secret,
                            "kdig": kdig}})
        engine = make_engine(settings.database.url)
        upgrade(engine)
        csv = "\n".join(f"n{i}.{knot_mod.ZONE}" for i in range(total)).encode()
        t = time.perf_counter()
        parsed = parse_names(io.BytesIO(csv), "bench.csv")
        print(f"parse {total} names: {time.perf_counter() - t:.2f} s")
        with transaction(session_factory(engine)) as db:
            desk = build_desk(db, settings)
            agency = desk.create_agency("bench", "Bench Agency", None)
            t = time.perf_counter()
            req = desk.file("officer@x", agency, NewRequest(parsed.names, "phishing", "x",
                                                            bulk=True, lines=parsed.lines))
            print(f"file (validate, enrich, store) {total} names: "
                  f"{time.perf_counter() - t:.2f} s")
            for item in req.items[executed:]:
                item.status = ItemStatus.refused.value
            desk.approve("r1@x", req)
            t = time.perf_counter()
            desk.approve("r2@x", req)
            done = sum(i.status == "suspended" for i in req.items)
            print(f"execute {executed} (snapshot by AXFR + update + verify each): "
                  f"{time.perf_counter() - t:.2f} s, suspended {done}")
            t = time.perf_counter()
            for item in req.items[:3]:
                desk.reinstate("r1@x", item, "bench")
            print(f"reinstate 3 (update + AXFR read-back each): "
                  f"{(time.perf_counter() - t) / 3:.2f} s per name")
            assert db.scalar(select(Agency.id)) is not None
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 25_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 200,
         sys.argv[3] if len(sys.argv) > 3 else None)
