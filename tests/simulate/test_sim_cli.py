"""`bluelamp simulate` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from bluelamp.cli import app
from bluelamp.simulate import LABELS

runner = CliRunner()
ARGS = ["--clients", "40", "--hours", "2", "--seed", "9", "--start", "2025-06-02T00:00:00Z"]


def _run(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["simulate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output.strip().splitlines()[-1]))


def test_writes_traffic_and_labels_reproducibly(tmp_path: Path) -> None:
    one = _run("--out", str(tmp_path / "a"), "--format", "zeek", "--gzip", *ARGS)
    two = _run("--out", str(tmp_path / "b"), "--format", "zeek", "--gzip", *ARGS)
    assert one["rows"] == two["rows"] and int(str(one["rows"])) > 1000
    for name in ("dns.log.gz", "labels.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    labels = pq.read_table(tmp_path / "a" / "labels.parquet")
    assert labels.schema.equals(LABELS.arrow)
    assert {"dga", "beacon", "tunnel", "benign"} <= set(labels.column("label").to_pylist())


def test_parquet_output_and_families(tmp_path: Path) -> None:
    out = _run("--out", str(tmp_path), "--dga-families", "necurs", *ARGS)
    table = pq.read_table(out["traffic"])
    assert table.num_rows == out["rows"]
    labels = pq.read_table(tmp_path / "labels.parquet").to_pylist()
    assert {r["family"] for r in labels if r["label"] == "dga"} == {"necurs"}


def test_bad_options_are_reported(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path), "--format", "xml"])
    assert result.exit_code != 0 and "format" in result.output
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path), "--dga-families", "zzz"])
    assert result.exit_code != 0
    assert "unknown DGA families" in str(result.exception) + result.output


def test_held_out_families_and_benign_names_from_files(tmp_path: Path) -> None:
    dga = tmp_path / "heldout.tsv"
    names = [f"{''.join(chr(97 + (i * 7 + k) % 26) for k in range(12))}.top" for i in range(80)]
    dga.write_text("family\tdomain\n" + "".join(f"heldoutfam\t{n}\n" for n in names))
    benign = tmp_path / "benign.txt"
    benign.write_text("".join(f"site{i}.example-tail.net\n" for i in range(500)))
    out = _run("--out", str(tmp_path / "o"), "--dga-families", "heldoutfam", "--dga-names",
               str(dga), "--benign-names", str(benign), "--clients", "60", "--hours", "4",
               "--start", "2025-06-02T08:00:00Z")
    labels = pq.read_table(tmp_path / "o" / "labels.parquet").to_pylist()
    dga_rows = [r for r in labels if r["label"] == "dga"]
    assert dga_rows and all(r["family"] == "heldoutfam" for r in dga_rows)
    assert set(dga_rows[0]["domains"]) <= set(names)
    qnames = set(pq.read_table(out["traffic"]).column("qname").to_pylist())
    assert any(q.endswith(".example-tail.net") for q in qnames)


def test_a_bad_names_file_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("fam\tok.com\nno-tab-here\n")
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path), "--dga-names", str(bad),
                                 *ARGS])
    assert result.exit_code != 0
    assert "bad.tsv:2" in str(result.exception) + result.output


def test_bytes_do_not_depend_on_python_hash_seeds(tmp_path: Path) -> None:
    """Two processes with different str hashing give the same files (no set or dict
    order leaks into the output)."""
    import os
    import subprocess
    import sys

    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", "from bluelamp.cli import main; main()",
                        "simulate", "--out",
                        str(tmp_path / seed), "--format", "dnstap", *ARGS, "--extra",
                        "spam,phishing,fast-flux,water-torture"], env=env, check=True,
                       capture_output=True, timeout=300)
    for name in ("dns.dnstap", "labels.parquet"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()
