"""Average two runs' forecasts in log space (geometric mean of expm1 forecasts ~ median ensemble).
Usage: python ensemble.py SET OUT_TAG TAG1 TAG2  -> results/OUT_TAG.json (train time = sum)"""
import json, sys
import numpy as np
from common import ALL_TICKERS, SUB10, SBUX_SMALL, Data, mase_table
which, out, tags = sys.argv[1], sys.argv[2], sys.argv[3:]
data = Data(files={"SBUX": SBUX_SMALL}) if which == "sbux" else Data(ALL_TICKERS if which == "all40" else SUB10)
Z = [np.load(f"results/{t}_pred.npz") for t in tags]
J = [json.load(open(f"results/{t}.json")) for t in tags]
res = {"config": {"ensemble_of": tags}, "train_time_s": round(sum(j["train_time_s"] for j in J), 1),
       "samples_seen": sum(j["samples_seen"] for j in J)}
for part, gk, fk in (("val", "gva", "fv"), ("test", "gte", "ft")):
    g = Z[0][gk]
    fc = np.expm1(np.mean([np.log1p(z[fk]) for z in Z], 0))
    res[part] = mase_table(data, g, fc)
json.dump(res, open(f"results/{out}.json", "w"), indent=1)
print(out, "val", round(res["val"]["pooled"], 4), "test", round(res["test"]["pooled"], 4))
