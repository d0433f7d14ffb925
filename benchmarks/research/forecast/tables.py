"""Markdown tables from results/*.json. Usage: python tables.py val <set> tag:desc ...  |  python tables.py test <set> tag ..."""
import json, sys
mode, which = sys.argv[1], sys.argv[2]
B = json.load(open(f"results/baselines_{which}.json"))
names = ["persistence", "ma5", "es", "ridge_abs", "ridge_rel", "ridge_rel_cal"]
best = min(names, key=lambda n: B[n]["val"]["pooled"])
part = "val" if mode == "val" else "test"
print(f"| model | {part} MASE pooled | x best baseline ({best}) | step1 | step2 | step3 | step4 | step5 | >pers tickers | >best tickers | train s | samples seen |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for n in names:
    r = B[n][part]
    print(f"| {n} | {r['pooled']:.4f} | {r['pooled']/B[best][part]['pooled']:.3f} | " + " | ".join(f"{s:.3f}" for s in r["steps"]) + " | | | | |")
for arg in sys.argv[3:]:
    tag, _, desc = arg.partition(":")
    J = json.load(open(f"results/{tag}.json")); r = J[part]
    rat = [x / y for x, y in zip(r["steps"], B[best][part]["steps"])]
    pt = r["per_ticker"]
    bp = sum(pt[k] < B["persistence"][part]["per_ticker"][k] for k in pt)
    bb = sum(pt[k] < B[best][part]["per_ticker"][k] for k in pt)
    print(f"| {desc or tag} (`{tag}`) | {r['pooled']:.4f} | {r['pooled']/B[best][part]['pooled']:.3f} | "
          + " | ".join(f"{s:.3f} (x{q:.3f})" for s, q in zip(r["steps"], rat))
          + f" | {bp}/{len(pt)} | {bb}/{len(pt)} | {J['train_time_s']} | {J['samples_seen']} |")
