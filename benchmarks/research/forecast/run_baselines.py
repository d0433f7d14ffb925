"""Baselines on the same windows. Usage: python run_baselines.py {all40|sub10|sbux} -> results/baselines_<set>.json"""
import json, os, sys, time
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np
from common import *

which = sys.argv[1]
t0 = time.time()
data = Data(files={"SBUX": SBUX_SMALL}) if which == "sbux" else Data(SUB10 if which == "sub10" else ALL_TICKERS)
out, meta, (gtr, gva, gte) = all_baselines(data)
res = {"n_rows": int(data.N), "n_windows": [len(gtr), len(gva), len(gte)],
       "meta": {k: v for k, v in meta.items() if not k.endswith("_model")}}
for name, (fv, ft) in out.items():
    res[name] = {"val": mase_table(data, gva, fv), "test": mase_table(data, gte, ft)}
os.makedirs("results", exist_ok=True)
json.dump(res, open(f"results/baselines_{which}.json", "w"), indent=1)
print(which, res["n_rows"], res["n_windows"], res["meta"], f"{time.time()-t0:.1f}s")
p = res["persistence"]
for name in out:
    v, t = res[name]["val"], res[name]["test"]
    print(f"{name:14s} val {v['pooled']:.4f} test {t['pooled']:.4f}  test steps " + " ".join(f"{x:.4f}" for x in t["steps"])
          + "   rel-pers steps " + " ".join(f"{x/y:.3f}" for x, y in zip(t["steps"], p["test"]["steps"])))
