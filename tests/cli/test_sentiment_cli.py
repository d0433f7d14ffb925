"""The CLI contract, run as users run it: a subprocess of the installed `lstm-pipeline`."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "flows.cli"]


def run_cli(args, api_url, cwd=None):
    env = {**os.environ, "PREFECT_API_URL": api_url}  # reuse the session's server: no second start-up
    return subprocess.run(CLI + args, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    path.write_text("preprocess: {seq_len: 60, processes: 1}\nmodel: {embedding_dim: 16, hidden_size: 16, bag_buckets: 0}\n"
                    "train: {epochs: 1}\nvalidation: {min_rows_per_class: 5}\n")
    return path


@pytest.fixture(scope="module")
def trained(prefect_api, tiny_config, tmp_path_factory, review_lines, http_folder):
    """A model trained from reviews given as a URL (served on loopback), as the README promises."""
    work = tmp_path_factory.mktemp("cli")
    served, base_url = http_folder
    (served / "reviews.ft.txt").write_text("\n".join(review_lines[:400]) + "\n")
    proc = run_cli(["sentiment", "train", "--data", f"{base_url}/reviews.ft.txt", "--config", str(tiny_config),
                    "--output", str(work / "out"), "--json"], prefect_api)
    assert proc.returncode == 0, proc.stderr[-2000:]
    downloaded = list((work / "out" / "downloads").glob("*/reviews.ft.txt"))  # kept as the raw input of record
    assert len(downloaded) == 1 and downloaded[0].read_text() == (served / "reviews.ft.txt").read_text()
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc


@pytest.mark.slow
def test_train_json_is_the_last_stdout_line_with_the_contract_keys(trained):
    summary, proc = trained
    assert {"bundle", "metrics", "baseline", "rows"} <= set(summary)
    for block in ("metrics", "baseline"):
        assert {"accuracy", "f1", "roc_auc"} <= set(summary[block])
    assert summary["rows"] == {"read": 400, "accepted": 400, "quarantined": 0}
    assert "LSTM" in proc.stdout and "TF-IDF + LR" in proc.stdout  # the human summary comes first
    assert Path(summary["bundle"], "weights.safetensors").is_file()
    # the default gate compares with the strongest baseline of the run: on 400 reviews a small (bagless)
    # LSTM loses to TF-IDF + LR, so it is not promoted, and the reason gives both figures
    lstm, tfidf = summary["metrics"]["accuracy"], summary["baseline"]["accuracy"]
    assert lstm < tfidf and not summary["promoted"] and summary["champion"] is None
    assert summary["gate"][0] == (f"does not beat the TF-IDF + LR baseline on accuracy: {lstm:.4f} vs {tfidf:.4f} "
                                  "(higher is better, margin 0.005)")


@pytest.mark.slow
def test_predict_writes_one_json_object_per_input_line_with_its_number(trained, prefect_api, tmp_path):
    """A blank line in the middle gets its own line saying why, so every prediction after it
    still lines up with its input; blank lines after the last text end the file."""
    summary, _ = trained
    inp = tmp_path / "in.txt"
    inp.write_bytes(b"__label__2 An excellent product, I love it.\nTotal waste of money.\n\nOkay I guess\n"
                    b"__label__1 \nbad \xff bytes\nworks fine\n\n\n")
    proc = run_cli(["sentiment", "predict", "--bundle", summary["bundle"], "--input", str(inp)], prefect_api)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(l) for l in proc.stdout.splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert [r.get("error") for r in rows] == [None, None, "blank line", None, "no text after the fastText label",
                                              "not valid UTF-8 (byte 4 of the line)", None]
    scored = [r for r in rows if "error" not in r]
    assert all(r["label"] in (0, 1) and 0 <= r["probability"] <= 1 for r in scored)
    assert all((r["probability"] >= 0.5) == (r["label"] == 1) for r in scored)
    assert all(r["label"] is None and r["probability"] is None for r in rows if "error" in r)
    # the same predictions as the in-memory predictor on those lines: nothing shifted
    from lstm_models.predict import SentimentPredictor

    texts = ["__label__2 An excellent product, I love it.", "Total waste of money.", "Okay I guess", "works fine"]
    labels, prob = SentimentPredictor.load(summary["bundle"]).predict(texts)
    assert [r["label"] for r in scored] == labels.tolist()
    assert [r["probability"] for r in scored] == pytest.approx(prob.tolist(), abs=1e-5)


@pytest.mark.slow
def test_predict_streams_the_same_lines_from_one_or_two_workers_and_from_csv(trained, prefect_api, tmp_path,
                                                                              review_lines):
    summary, _ = trained
    texts = [line.split(" ", 1)[1] for line in review_lines[:4500]]  # more than two chunks
    texts[2500] = "   "
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    outs = {}
    for workers in ("1", "2"):
        proc = run_cli(["sentiment", "predict", "--bundle", summary["bundle"], "--input", str(tmp_path / "in.txt"),
                        "--workers", workers], prefect_api)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs[workers] = proc.stdout
    assert outs["1"] == outs["2"]
    rows = [json.loads(l) for l in outs["2"].splitlines()]
    assert [r["line"] for r in rows] == list(range(1, 4501)) and rows[2500]["error"] == "blank line"
    import pandas as pd

    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli(["sentiment", "predict", "--bundle", summary["bundle"], "--input", str(tmp_path / "in.csv")],
                   prefect_api)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from_csv = [json.loads(l) for l in proc.stdout.splitlines()]
    assert from_csv[2500]["error"] == "empty text"
    assert [r["label"] for r in from_csv] == [r["label"] for r in rows]


@pytest.mark.parametrize("name,content,expected", [
    ("missing.ft.txt", None, "input not found"),
    ("empty.ft.txt", "", "empty input"),
    ("wrongcols.csv", "id,body\n1,hello\n", "missing column"),
    ("unlabelled.ft.txt", "great product\nawful product\n", "batch rejected: all 2 rows were quarantined"),
])
def test_bad_input_exits_2_with_one_clear_line(prefect_api, tmp_path, name, content, expected):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    proc = run_cli(["sentiment", "train", "--data", str(path), "--output", str(tmp_path / "out"), "--json"], prefect_api)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert name in proc.stderr and expected in proc.stderr
    assert proc.stdout.strip() == ""  # nothing on stdout that a script could mistake for a result


def test_bad_bundle_and_bad_config_exit_2(prefect_api, tmp_path):
    proc = run_cli(["sentiment", "predict", "--bundle", str(tmp_path), "--input", str(tmp_path / "x.txt")], prefect_api)
    assert proc.returncode == 2 and "not a bundle" in proc.stderr and "Traceback" not in proc.stderr
    bad_cfg = tmp_path / "bad.yaml"
    bad_cfg.write_text("model: {dropout: 3}\n")
    data = tmp_path / "d.txt"
    data.write_text("__label__1 bad\n")
    proc = run_cli(["sentiment", "train", "--data", str(data), "--config", str(bad_cfg)], prefect_api)
    assert proc.returncode == 2 and "model.dropout" in proc.stderr and "Traceback" not in proc.stderr


def test_a_missing_unlabelled_file_exits_2_naming_it(prefect_api, tmp_path, review_lines):
    data = tmp_path / "d.ft.txt"
    data.write_text("\n".join(review_lines[:50]) + "\n")
    proc = run_cli(["sentiment", "train", "--data", str(data), "--unlabelled", str(tmp_path / "more.txt")], prefect_api)
    assert proc.returncode == 2 and "more.txt" in proc.stderr and "input not found" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_train_with_unlabelled_texts_pretrains_on_them(prefect_api, tiny_config, tmp_path, review_lines):
    data, more = tmp_path / "d.ft.txt", tmp_path / "more.txt"
    data.write_text("\n".join(review_lines[:400]) + "\n")
    more.write_text("\n".join(line.split(" ", 1)[1] for line in review_lines[400:700]) + "\n")  # no labels
    proc = run_cli(["sentiment", "train", "--data", str(data), "--config", str(tiny_config), "--unlabelled", str(more),
                    "--output", str(tmp_path / "out"), "--json"], prefect_api)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (summary,) = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("training.json")]
    assert summary["pretrain"]["texts"] == summary["train_rows"] + 300
