"""Compare LSTM result JSONs with the baselines on the same set.
Usage: python compare.py <set> <part: val|test> tag [tag...]"""
import json, sys
which, part, tags = sys.argv[1], sys.argv[2], sys.argv[3:]
B = json.load(open(f"results/baselines_{which}.json"))
names = ["persistence", "ma5", "es", "ridge_abs", "ridge_rel", "ridge_rel_cal"]
best = min(names, key=lambda n: B[n]["val"]["pooled"])  # best baseline chosen on validation
spec_best = min(names[:-1], key=lambda n: B[n]["val"]["pooled"])
def row(name, r):
    return f"{name:24s} {r['pooled']:.4f}  " + " ".join(f"{s:.4f}" for s in r["steps"])
print(f"[{which} {part}] best baseline (on val): {best}; best of the specified four: {spec_best}")
for n in names:
    print(row(n, B[n][part]))
for t in tags:
    R = json.load(open(f"results/{t}.json"))[part] if not t.endswith(".json") else json.load(open(t))[part]
    print(row(t, R))
    for bn in dict.fromkeys([best, spec_best]):
        b = B[bn][part]
        ratios = [x / y for x, y in zip(R["steps"], b["steps"])]
        print(f"   vs {bn:14s} pooled x{R['pooled']/b['pooled']:.3f}  steps " + " ".join(f"x{r:.3f}" for r in ratios)
              + ("  MEETS 0.97 all steps" if max(ratios) <= 0.97 and R['pooled'] / b['pooled'] <= 0.97 else ""))
    pt = R["per_ticker"]
    bp = sum(pt[k] < B["persistence"][part]["per_ticker"][k] for k in pt) / len(pt)
    bb = sum(pt[k] < B[best][part]["per_ticker"][k] for k in pt) / len(pt)
    print(f"   beats persistence on {bp:.0%} of {len(pt)} tickers; beats {best} on {bb:.0%}")
