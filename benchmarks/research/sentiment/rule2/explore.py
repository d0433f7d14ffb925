"""Validation-only exploration of candidate rules (no test accuracy computed)."""
import json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
import torch
from bench_sentiment_sizes import prepare
from lstm_models.training import predict
from tasks.sentiment.config import SentimentConfig
from tasks.sentiment.sizing import DataShape, resolve
from tasks.sentiment.train import load_classifier, load_split, train_classifier

CANDIDATES = json.loads(sys.argv[2])
sets = sys.argv[1].split(",")
for name in sets:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        valid, tokens, stats = prepare(name, tmp, SentimentConfig())
        shape = DataShape(stats["splits"]["train"], stats["median_train_length"], stats["vocab_size"])
        val = load_split(tokens, "val")
        for tag, over in CANDIDATES.items():
            for seed in (13, 7):
                cfg = SentimentConfig.model_validate(over)
                model, train, _ = resolve(cfg.model, cfg.train.model_copy(update={"seed": seed}), shape)
                out = tmp / f"{tag}{seed}"; out.mkdir()
                t0 = time.perf_counter()
                s = train_classifier(tokens, stats["vocab_size"], model, train, out, progress=False)
                secs = time.perf_counter() - t0
                clf = load_classifier(out / "model.safetensors", stats["vocab_size"], model)
                acc = float(((torch.sigmoid(predict(clf, val, device=torch.device("cpu"))) >= 0.5).float() == val.y).float().mean())
                rec = {"set": name, "tag": tag, "seed": seed, "val_acc": round(acc, 4), "val_loss": round(s["best_val_loss"], 4),
                       "epochs_run": len(s["history"]), "seconds": round(secs, 1)}
                print(json.dumps(rec), flush=True)
                with open("/tmp/explore/results.jsonl", "a") as f:
                    f.write(json.dumps(rec) + "\n")
