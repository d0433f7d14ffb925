"""Score a 40-ticker run's saved test/val forecasts on the 10-ticker subset (SUB10), vs the
sub10 baselines (same windows: the per-ticker split does not depend on which tickers are loaded).
Usage: python score_subset.py TAG [TAG...]"""
import json, sys
import numpy as np
from common import ALL_TICKERS, SUB10, Data, mase_table
d40 = Data(ALL_TICKERS)
B = json.load(open("results/baselines_sub10.json"))
keep_ids = [d40.tickers.index(t) for t in SUB10]
for tag in sys.argv[1:]:
    z = np.load(f"results/{tag}_pred.npz")
    for part, g, fc in (("val", z["gva"], z["fv"]), ("test", z["gte"], z["ft"])):
        m = np.isin(d40.f["tk"][g], keep_ids)
        r = mase_table(d40, g[m], fc[m])
        b = B["ridge_rel_cal"][part]
        print(f"{tag} on SUB10 {part}: pooled {r['pooled']:.4f} (x{r['pooled']/b['pooled']:.3f} ridge_rel_cal) steps "
              + " ".join(f"{x:.3f}(x{x/y:.3f})" for x, y in zip(r["steps"], b["steps"])))
