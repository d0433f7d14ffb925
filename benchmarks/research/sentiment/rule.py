"""Data-following config rule. Usage: python rule.py SET  -> prints the JSON overrides for lab.py.
Inputs come from the training split only (tokenize stats written by lab.py: n_train, median_len, vocab)."""
import json, math, sys
from pathlib import Path

def rule(n_train: int, median_len: float, vocab: int) -> dict:
    batch = 32 if n_train < 4000 else 64                 # keep >= ~50 updates per epoch
    steps = math.ceil(n_train / batch)
    epochs = min(30, max(12, math.ceil(1500 / steps)))    # ~1,500 updates budget, early stopping decides
    patience = max(4, round(epochs / 5))
    return {"model": {"embedding_dim": 128, "hidden_size": 128, "dropout": 0.5},
            "train": {"batch_size": batch, "epochs": epochs, "patience": patience}}

if __name__ == "__main__":
    s = json.loads((Path(__file__).parent / "sets" / sys.argv[1] / "sl200_mc2" / "stats.json").read_text())
    print(json.dumps(rule(s["splits"]["train"], s["median_len"], s["vocab_size"])))
