"""score-domains, evaluate and train commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from bluelamp.cli import app
from bluelamp.models.dga import DGAModel

runner = CliRunner()


def test_score_domains_order_and_format(tmp_path: Path) -> None:
    names = ["google.com", "xjwqkzvplmrt.net", "", "google.com", "  wikipedia.org  # c",
             "not a domain!!"]
    path = tmp_path / "in.txt"
    path.write_text("\n".join(names) + "\n")
    result = runner.invoke(app, ["score-domains", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(names)
    fields = [line.split("\t") for line in lines]
    assert [f[0] for f in fields] == ["google.com", "xjwqkzvplmrt.net", "", "google.com",
                                      "wikipedia.org", "not"]
    assert fields[2] == ["", ""]
    scores = [float(f[1]) for f in fields if f[1]]
    assert all(0.0 <= s <= 1.0 for s in scores)
    expected = DGAModel.load().score(["google.com", "xjwqkzvplmrt.net"])
    assert abs(scores[0] - expected[0]) < 1e-6 and abs(scores[1] - expected[1]) < 1e-6
    assert fields[0][1] == fields[3][1]


def test_score_domains_stdin_json_and_bad_bytes() -> None:
    data = b"example.com\n\xff\xfe.com\n\n"
    result = runner.invoke(app, ["score-domains", "-", "--json"], input=data)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["domain"] for r in rows] == ["example.com", "\ufffd\ufffd.com", ""]
    assert rows[2]["score"] is None and 0 <= rows[1]["score"] <= 1


def test_score_domains_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["score-domains", str(tmp_path / "nope.txt")])
    assert result.exit_code != 0


def test_evaluate_domains(tmp_path: Path) -> None:
    path = tmp_path / "labelled.tsv"
    path.write_text("# comment\n1\txjwqkzvplmrt.net\ndga\tqzkvbnwx7lpe.com\n0\tgoogle.com\n"
                    "benign\twikipedia.org\nbroken line here\n\n")
    result = runner.invoke(app, ["evaluate", "--domains", str(path), "--json"])
    assert result.exit_code == 0, result.output
    m = json.loads(result.stdout.strip().splitlines()[-1])
    assert m["n_dga"] == 2 and m["n_benign"] == 2 and m["bad_lines"] == 1
    assert m["auc"] == 1.0
    assert "labelled.tsv:6" in result.stderr
    text = runner.invoke(app, ["evaluate", "--domains", str(path)])
    assert "AUC: 1.0000" in text.stdout and "TPR at FPR 0.001" in text.stdout


def test_evaluate_needs_exactly_one_input(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate"])
    assert result.exit_code != 0
    both = runner.invoke(app, ["evaluate", "--domains", str(tmp_path / "x"),
                               "--traffic", str(tmp_path)])
    assert both.exit_code != 0


def test_evaluate_domains_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--domains", str(tmp_path / "nope.tsv")])
    assert result.exit_code != 0
    assert "nope.tsv" in str(result.exception)


def _train(out: Path, seed: int) -> dict[str, object]:
    # a small subsample, few buckets and capped iterations keep this a few seconds even on a
    # loaded machine; the checks below do not depend on the model being good
    result = runner.invoke(app, ["train", "dga", "--out", str(out), "--sample", "500",
                                 "--bits", "10", "--max-iter", "200", "--seed", str(seed),
                                 "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def test_train_cli_subsample(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    summary = _train(a, 3)
    assert summary["n_train"] == 500 and a.exists()
    _train(b, 3)
    _train(c, 4)
    ma, mb, mc = DGAModel.load(a), DGAModel.load(b), DGAModel.load(c)
    assert ma.meta["seed"] == 3
    # same seed, same weights; another seed draws another subsample
    np.testing.assert_array_equal(ma.ngram_weights, mb.ngram_weights)
    np.testing.assert_array_equal(ma.dense_weights, mb.dense_weights)
    assert ma.bias == mb.bias
    assert ma.head is not None and mb.head is not None
    np.testing.assert_array_equal(ma.head.w1, mb.head.w1)
    assert not np.array_equal(ma.ngram_weights, mc.ngram_weights)
    scores = ma.score(["google.com", "wikipedia.org", "xjwqkzvplmrtbq.net", "qzkvbnwx7lpe3f.com"])
    assert ((scores >= 0) & (scores <= 1)).all()
    assert scores[:2].max() < scores[2:].min()
