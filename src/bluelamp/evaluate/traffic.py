"""`bluelamp evaluate --traffic DIR`: run every detector over a labelled `simulate` output
and score the findings against its `labels.parquet` (metrics in `evaluate.metrics`)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bluelamp.detect.base import Detector
from bluelamp.detect.engine import Engine, default_detectors
from bluelamp.errors import InputError
from bluelamp.evaluate.metrics import Detected, client_metrics, dga_metrics, window_end
from bluelamp.sources.base import read_path


def traffic_file(folder: Path) -> Path:
    """The traffic file `simulate` wrote into `folder` (dns.parquet, dns.log, ...)."""
    found = sorted(p for p in folder.glob("dns.*") if p.is_file())
    if not found:
        raise InputError(f"{folder}: no dns.* traffic file (expected a `bluelamp simulate` "
                         f"output folder)")
    return found[0]


def evaluate_traffic(folder: Path, *, detectors: list[Detector[Any]] | None = None,
                     dga_model: Path | None = None,
                     progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run `detectors` (default: every registered one) over the folder's traffic and return
    the metrics as a JSON-ready dict."""
    labels_path = folder / "labels.parquet"
    if not labels_path.exists():
        raise InputError(f"{labels_path}: missing (evaluate needs a labelled simulation)")
    labels = pq.read_table(labels_path).to_pylist()
    chosen = detectors if detectors is not None else default_detectors(dga_model=dga_model)
    windows = {d.name: d.window for d in chosen}
    engine = Engine(chosen, write_observations=False, grace=dt.timedelta(days=1))
    path = traffic_file(folder)
    if progress:
        progress(f"analysing {path.name} with {len(chosen)} detectors")
    started = time.process_time()
    findings = engine.run(read_path(path))
    found = [Detected(f, window_end(f, windows[f.detector])) for f in findings]
    result = client_metrics(labels, found, sorted(windows))
    result["infected_client"] = dga_metrics(labels, found)
    result["input"] = {"file": path.name, "rows": engine.metrics.rows,
                       "findings": len(findings),
                       "cpu_seconds": round(time.process_time() - started, 2)}
    return result


def print_report(result: dict[str, Any], echo: Callable[[str], None]) -> None:
    """The metrics as a short table a person reads."""
    inp = result["input"]
    echo(f"{inp['file']}: {inp['rows']} queries, {inp['findings']} findings, "
         f"{result['clients']['benign']} benign and {result['clients']['malicious_active']} "
         f"malicious clients")
    echo(f"{'detector':<20} {'flagged':>7} {'TP':>4} {'FP':>4} {'other':>5} {'precision':>9} "
         f"{'recall':>7} {'FPR':>8} {'TTD med':>8} {'TTD max':>8}")
    rows = {**result["detectors"], "(any detector)": result["all_detectors"]}
    for name, m in rows.items():
        echo(f"{name:<20} {m['flagged']:>7} {m['true_positives']:>4} {m['false_positives']:>4} "
             f"{m['other_malicious']:>5} {_f(m['precision']):>9} {_f(m['recall']):>7} "
             f"{_f(m['fpr'], 5):>8} {_t(m['ttd_median_s']):>8} {_t(m['ttd_max_s']):>8}")
    for label, v in result["all_detectors"]["recall_by_label"].items():
        echo(f"  recall of {label} clients by any detector: {_f(v['recall'])} (n={v['n']})")
    dga = result["infected_client"]
    echo(f"infected-client: C2 named for {dga['campaigns_c2_named']}/{dga['campaigns']} DGA "
         f"campaigns ({dga['c2_names_sinkholed']} sinkholed names and "
         f"{len(dga['c2_names_wrong'])} other names also named); family guess right "
         f"{dga['family_guess']['right']}, unknown "
         f"{dga['family_guess']['unknown']}, wrong {dga['family_guess']['wrong']}")
    for family, v in dga["recall_by_family"].items():
        echo(f"  {family}: recall {_f(v['recall'])} (n={v['n']})")


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _t(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f}h"
