"""Self-contained research harness: builds the sets, tokenizes with the pipeline's own stages,
trains/evaluates with the pipeline's own functions. One experiment per invocation.
Usage: python lab.py SET TAG '{"model":{...},"train":{...},"preprocess":{...}}'  (json optional)
       python lab.py SET baseline
"""
import os, sys
os.environ.setdefault("OMP_NUM_THREADS", "1")
import bz2, json, re, time, hashlib
from pathlib import Path
import numpy as np
import torch
torch.set_num_threads(1)
sys.path.insert(0, "/work/main")
from tasks.sentiment.config import (ReviewIngestConfig, ReviewValidationConfig, PreprocessConfig, SplitConfig,
                                    ClassifierConfig, BaselineConfig)
from tasks.shared.config import TrainSettings
from tasks.sentiment.ingest import write_raw
from tasks.sentiment.validate import validate_raw
from tasks.sentiment.tokenize import tokenize_reviews
from tasks.sentiment.train import train_classifier, load_split, load_classifier
from tasks.sentiment.baseline import train_baseline
from tasks.sentiment.evaluate import evaluate_classifier, classification_metrics
from lstm_models.training import predict

ROOT = Path("/work/research13")
SRC = Path("/work/main/data/amazon_polarity_head6459.ft.txt.bz2")
SENT = re.compile(r"(?<=[.!?])\s+")
DEFAULT = json.loads(json.dumps({
    "preprocess": {"seq_len": 200, "min_count": 2},
    "model": {"embedding_dim": 64, "hidden_size": 64, "num_layers": 1, "bidirectional": True, "dropout": 0.3,
              "pooling": "max", "cell": "lstm"},
    "train": {"epochs": 12, "batch_size": 64, "lr": 0.002, "clip": 5.0, "patience": 3, "seed": 13, "device": "cpu"},
}))


def lines():
    with bz2.open(SRC, "rt", encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def make_set(name):
    d = ROOT / "sets" / name
    f = d / "reviews.ft.txt"
    if f.exists():
        return f
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for l in lines():
        label, _, text = l.partition(" ")
        title, sep, body = text.partition(": ")
        if name == "full":
            t = text
        elif name.startswith("sub"):
            t = text
        elif name == "first":  # title + first sentence
            t = title + sep + (SENT.split(body.strip(), 1)[0] if sep else "")
        elif name == "titles":
            t = title if sep else text
        else:
            raise ValueError(name)
        out.append(f"{label} {t.strip()}")
    if name.startswith("sub"):
        out = out[: int(name[3:])]
    f.write_text("\n".join(out) + "\n", encoding="utf-8")
    return f


def valid_path(name):
    d = ROOT / "sets" / name
    v = d / "valid.parquet"
    if not v.exists():
        f = make_set(name)
        label_map, _, _ = write_raw(f, ReviewIngestConfig(), d / "raw.parquet")
        validate_raw(d / "raw.parquet", label_map, f.name, ReviewValidationConfig(), d)
    return v


def tokens_for(name, pre):
    key = f"sl{pre['seq_len']}_mc{pre['min_count']}"
    d = ROOT / "sets" / name / key
    stats_f = d / "stats.json"
    if not stats_f.exists():
        stats = tokenize_reviews(valid_path(name), d, PreprocessConfig(workers=1, **pre), SplitConfig())
        import pyarrow.parquet as pq
        t = pq.read_table(d / "tokens.parquet", columns=["split", "length"]).to_pandas()
        tr = t[t["split"].astype(str) == "train"]["length"]
        stats.update(median_len=float(tr.median()), p95_len=float(tr.quantile(0.95)))
        stats_f.write_text(json.dumps(stats))
    return d, json.loads(stats_f.read_text())


def merge(a, b):
    out = json.loads(json.dumps(a))
    for k, v in (b or {}).items():
        out[k].update(v)
    return out


def log(rec):
    with open(ROOT / "results.jsonl", "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(json.dumps(rec))


def main():
    name, tag = sys.argv[1], sys.argv[2]
    over = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    cfg = merge(DEFAULT, over)
    d, stats = tokens_for(name, cfg["preprocess"])
    tokens = str(d / "tokens.parquet")
    if tag == "baseline":
        t0 = time.perf_counter()
        m = train_baseline(str(valid_path(name)), tokens, BaselineConfig())
        log({"set": name, "tag": tag, "test_acc": m["accuracy"], "seconds": round(time.perf_counter() - t0, 1),
             "stats": stats})
        return
    model_cfg = ClassifierConfig(**cfg["model"])
    train_cfg = TrainSettings(**cfg["train"])
    out = ROOT / "runs" / f"{name}_{tag}"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = train_classifier(tokens, stats["vocab_size"], model_cfg, train_cfg, out, progress=False)
    secs = time.perf_counter() - t0
    val = load_split(tokens, "val")
    model = load_classifier(out / "model.safetensors", stats["vocab_size"], model_cfg)
    vprob = torch.sigmoid(predict(model, val, device=torch.device("cpu"))).numpy()
    vacc = classification_metrics(val.y.numpy().astype(int), vprob)["accuracy"]
    rec = {"set": name, "tag": tag, "cfg": over, "val_acc": vacc, "val_loss": summary.get("best_val_loss"),
           "best_epoch": summary.get("best_epoch"), "epochs_run": len(summary.get("history", [])),
           "seconds": round(secs, 1), "params": summary["parameters"], "n_train": summary["train_rows"],
           "median_len": stats["median_len"], "p95_len": stats["p95_len"], "vocab": stats["vocab_size"]}
    if "--test" in sys.argv:
        rec["test_acc"] = evaluate_classifier(tokens, str(out / "model.safetensors"), stats["vocab_size"], model_cfg)["accuracy"]
    log(rec)


if __name__ == "__main__":
    main()
