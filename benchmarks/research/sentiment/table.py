"""results.jsonl -> markdown tables (per-set summary and all validation runs)."""
import json
rows = [json.loads(l) for l in open("/work/research13/results.jsonl")]
sets = ["full", "sub4000", "sub2000", "first", "titles"]
def last(s, tag):
    r = [x for x in rows if x["set"] == s and x["tag"] == tag]
    return r[-1] if r else None
print("| set | n_train | median tokens | vocab | TF-IDF+LR test | default LSTM val | default LSTM test (s) | rule LSTM val | rule LSTM test (s) |")
print("|---|---|---|---|---|---|---|---|---|")
for s in sets:
    b, d, r = last(s, "baseline"), last(s, "default"), last(s, "rule")
    f = lambda x, k: f"{x[k]:.3f}" if x and k in x else "–"
    print(f"| {s} | {d['n_train'] if d else '–'} | {d['median_len'] if d else '–'} | {d['vocab'] if d else '–'} | {f(b,'test_acc')} | "
          f"{f(d,'val_acc')} | {f(d,'test_acc')} ({d['seconds'] if d else '–'}) | {f(r,'val_acc')} | "
          f"{f(r,'test_acc') + ' (' + str(r['seconds']) + ')' if r else '–'} |")
print()
print("All LSTM runs (validation only unless marked; chosen on val):\n")
print("| set | tag | overrides | val acc | best val loss | best epoch / run | s |")
print("|---|---|---|---|---|---|---|")
for x in rows:
    if x["tag"] == "baseline": continue
    print(f"| {x['set']} | {x['tag']} | `{json.dumps(x['cfg'])}` | {x['val_acc']:.3f} | {x['val_loss']:.3f} | "
          f"{x['best_epoch']} / {x['epochs_run']} | {x['seconds']} |")
