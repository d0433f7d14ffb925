"""Global LSTM for 5-day volume forecasts (one model, all tickers). One experiment per call.

Example:
  OMP_NUM_THREADS=1 python train_lstm.py --set all40 --tag base
Writes results/<tag>.json (val/test MASE pooled, per step, per ticker, timing, config).
"""
import argparse, json, os, time

os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np
import torch
import torch.nn as nn

from common import (ALL_TICKERS, HORIZON, SBUX_SMALL, SUB10, Data, RidgeBaseline, mase_table)

torch.set_num_threads(1)

ROW_FEATS = ["ret", "gap", "hl", "co", "labs", "dlv"]
CAL_FEATS = ["days_prev", "days_next", "month_end", "third_fri", "quad"]

p = argparse.ArgumentParser()
p.add_argument("--set", default="all40", help="all40 | sub10 | sbux | comma list of tickers")
p.add_argument("--tag", required=True)
p.add_argument("--lookback", type=int, default=20)
p.add_argument("--hidden", type=int, default=64)
p.add_argument("--layers", type=int, default=1)
p.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
p.add_argument("--conv", type=int, default=0, help="Conv1d channels before the RNN (0 = none); kernel 3, maxpool 2")
p.add_argument("--loss", default="l1", choices=["l1", "mse", "huber"])
p.add_argument("--level", default="mean20", choices=["mean20", "meanL", "es", "last"])
p.add_argument("--target", default="level", choices=["level", "ridge"],
               help="level: predict log1p(v[t+k]) - level_t; ridge: predict the deviation from the ridge log forecast")
p.add_argument("--rowfeats", default=",".join(ROW_FEATS))
p.add_argument("--no-cal", action="store_true", help="no calendar inputs (dow only kept in rows)")
p.add_argument("--head-cal", type=int, default=1, help="target-day calendar (dow one-hot + flags) into the head")
p.add_argument("--skip", type=int, default=1, help="linear skip from relative log-volume lags to outputs")
p.add_argument("--weight", default="none", choices=["none", "mase"], help="mase: weight each window by exp(level)/scale")
p.add_argument("--budget", type=float, default=1.5e6, help="training samples seen (cap)")
p.add_argument("--min-epochs", type=float, default=0, help="budget = max(budget?, ...) not used if 0")
p.add_argument("--bs", type=int, default=0, help="batch size; 0 = rule: clip(2^round(log2(n_train/1000)), 32, 512)")
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--wd", type=float, default=0.0)
p.add_argument("--evals", type=int, default=10, help="validation checks over the budget")
p.add_argument("--patience", type=int, default=3)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--init", default="", help="load weights/scalers from results/<name>.pt (transfer)")
p.add_argument("--save", action="store_true", help="save model to results/<tag>.pt")
p.add_argument("--pipeline", action="store_true",
               help="replica of the current pipeline inputs: 6 raw columns standardised per ticker on train rows, "
                    "target log1p volume minus the ticker's train mean, no window-relative/calendar inputs")
p.add_argument("--no-train", action="store_true", help="evaluate the --init model as is (zero-shot transfer)")
p.add_argument("--dropout", type=float, default=0.0)
args = p.parse_args()
torch.manual_seed(args.seed); np.random.seed(args.seed)
t_start = time.time()

if args.set == "sbux":
    data = Data(files={"SBUX": SBUX_SMALL})
elif args.set in ("all40", "sub10"):
    data = Data(ALL_TICKERS if args.set == "all40" else SUB10)
else:
    data = Data(args.set.split(","))
L = args.lookback
gtr, gva, gte = (data.anchors(p_, L) for p_ in ("train", "val", "test"))
f = data.f

# ------------------------------------------------------------------ level and target
if args.level == "mean20":
    level = lambda g: data.window_mean_lv(g, 20)
elif args.level == "meanL":
    level = lambda g: data.window_mean_lv(g, L)
elif args.level == "last":
    level = lambda g: f["lv"][g]
else:
    es = data.es_level(0.15)
    level = lambda g: es[g]
if args.pipeline:
    tk_mu = np.array([f["lv"][s:tr].mean() for (s, tr, _, _) in data.bounds])
    level = lambda g: tk_mu[f["tk"][g]]
ridge = None
if args.target == "ridge":
    ridge = RidgeBaseline(relative=False, calendar=False).fit(data, gtr, gva)
base_full = np.zeros(data.N)  # per-anchor base (log scale) forecast per step, computed lazily


def base_log(g):
    """[M, 5] log-scale base forecast the network corrects."""
    if ridge is not None:
        return ridge.predict_log(data, g)
    return np.repeat(level(g)[:, None], HORIZON, 1)


# ------------------------------------------------------------------ row features, scaled on train rows
rowfeats = [r for r in args.rowfeats.split(",") if r]
cols = [f[k] for k in rowfeats]
if not args.no_cal:
    cols += [np.minimum(f["days_prev"], 5), np.minimum(f["days_next"], 5), f["month_end"], f["third_fri"], f["quad"]]
cols = np.stack(cols, 1) if cols else np.zeros((data.N, 0))
train_rows = np.concatenate([np.arange(s, tr) for (s, tr, _, _) in data.bounds])
mu, sd = cols[train_rows].mean(0), cols[train_rows].std(0) + 1e-8
if args.init:
    ck = torch.load(f"results/{args.init}.pt", weights_only=False)
    mu, sd = ck["mu"], ck["sd"]
cols = (cols - mu) / sd
dow1h = np.eye(5)[np.clip(f["dow"], 0, 4)]
ROW = torch.tensor(np.concatenate([cols, dow1h], 1), dtype=torch.float32)
if args.pipeline:
    raw = np.stack([f[k] for k in ("o", "h", "l", "c", "ac", "v")], 1)
    for (s_, tr_, _, e_) in data.bounds:
        raw[s_:e_] = (raw[s_:e_] - raw[s_:tr_].mean(0)) / (raw[s_:tr_].std(0) + 1e-8)
    ROW = torch.tensor(raw, dtype=torch.float32)
LV = torch.tensor(f["lv"], dtype=torch.float32)
CALH = torch.tensor(np.concatenate([dow1h, np.stack([np.minimum(f["days_prev"], 5) / 5, np.minimum(f["days_next"], 5) / 5,
                                                     f["month_end"], f["third_fri"], f["quad"]], 1)], 1), dtype=torch.float32)
NF = ROW.shape[1] + 1
AR = torch.arange(-L + 1, 1)
STEPS = torch.arange(1, HORIZON + 1)


def batch(g_np):
    g = torch.from_numpy(g_np)
    lev = torch.tensor(level(g_np), dtype=torch.float32)
    rows = g[:, None] + AR
    rel = (LV[rows] - lev[:, None]).clamp(-4, 4)
    if args.pipeline:
        rel = torch.zeros_like(rel)
    x = torch.cat([ROW[rows], rel[..., None]], 2)
    cal = CALH[g[:, None] + STEPS].reshape(len(g), -1) if args.head_cal else None
    base = torch.tensor(base_log(g_np), dtype=torch.float32) - lev[:, None]
    return x, rel[:, -20:], cal, lev, base


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        H = args.hidden
        nin = NF
        self.conv = None
        if args.conv:
            self.conv = nn.Sequential(nn.Conv1d(NF, args.conv, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2))
            nin = args.conv
        rnn = nn.LSTM if args.cell == "lstm" else nn.GRU
        self.rnn = rnn(nin, H, num_layers=args.layers, batch_first=True, dropout=args.dropout if args.layers > 1 else 0)
        nh = H + (CALH.shape[1] * HORIZON if args.head_cal else 0)
        self.head = nn.Sequential(nn.Linear(nh, H), nn.ReLU(), nn.Linear(H, HORIZON))
        self.skip = nn.Linear(min(20, L), HORIZON) if args.skip else None

    def forward(self, x, rel, cal):
        if self.conv is not None:
            x = self.conv(x.transpose(1, 2)).transpose(1, 2)
        h = self.rnn(x)[0][:, -1]
        z = torch.cat([h, cal], 1) if cal is not None else h
        out = self.head(z)
        if self.skip is not None:
            out = out + self.skip(rel)
        return out


net = Net()
if args.init:
    net.load_state_dict(ck["state"])
n_tr = len(gtr)
bs = args.bs or int(np.clip(2 ** round(np.log2(max(n_tr, 1) / 1000)), 32, 512))
# budget rule (--budget 0): 50 passes over the train windows, at least 20k and at most 1.5M samples
budget = int(args.budget) if args.budget > 0 else int(min(1.5e6, max(2e4, 50 * n_tr)))
if args.no_train:
    budget = bs
n_steps = max(1, budget // bs)
opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.wd)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=n_steps, pct_start=0.05,
                                            anneal_strategy="cos", final_div_factor=20)
wscale = np.log(data.scale)


def loss_fn(out, y, w):
    if args.loss == "l1":
        e = (out - y).abs()
    elif args.loss == "mse":
        e = (out - y) ** 2
    else:
        e = nn.functional.huber_loss(out, y, reduction="none", delta=0.3)
    return (e.mean(1) * w).sum() / w.sum()


def weights(g_np, lev):
    if args.weight == "none":
        return torch.ones(len(g_np))
    w = torch.exp(lev - torch.tensor(wscale[f["tk"][g_np]], dtype=torch.float32))
    return w


YLV = torch.tensor(f["lv"], dtype=torch.float32)


def target(g_np, lev, base):
    g = torch.from_numpy(g_np)
    return YLV[g[:, None] + STEPS] - lev[:, None] - base


@torch.no_grad()
def predict_log(g_all, chunk=8192):
    net.eval()
    outs = []
    for i in range(0, len(g_all), chunk):
        g = g_all[i:i + chunk]
        x, rel, cal, lev, base = batch(g)
        outs.append((net(x, rel, cal) + base + lev[:, None]).numpy())
    net.train()
    return np.concatenate(outs).astype(np.float64)


@torch.no_grad()
def val_loss(g_all, chunk=8192):
    net.eval()
    tot, wsum = 0.0, 0.0
    for i in range(0, len(g_all), chunk):
        g = g_all[i:i + chunk]
        x, rel, cal, lev, base = batch(g)
        w = weights(g, lev)
        tot += loss_fn(net(x, rel, cal), target(g, lev, base), w).item() * w.sum().item()
        wsum += w.sum().item()
    net.train()
    return tot / wsum


rng = np.random.default_rng(args.seed)
eval_every = max(1, n_steps // args.evals)
best = (float("inf"), None, 0)
hist = []
t_train = time.time()
bad = 0
perm, pos = rng.permutation(gtr), 0
step = 0
if args.init and not args.no_train:  # fine-tuning: the loaded model itself is a candidate (0 samples)
    vl = val_loss(gva)
    hist.append((0, round(vl, 5), 0.0))
    best = (vl, {k: v.clone() for k, v in net.state_dict().items()}, 0)
for step in range(1, (0 if args.no_train else n_steps) + 1):
    if pos + bs > len(perm):
        perm, pos = rng.permutation(gtr), 0
    g = perm[pos:pos + bs]; pos += bs
    x, rel, cal, lev, base = batch(g)
    out = net(x, rel, cal)
    loss = loss_fn(out, target(g, lev, base), weights(g, lev))
    opt.zero_grad(); loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step(); sched.step()
    if step % eval_every == 0 or step == n_steps:
        vl = val_loss(gva)
        hist.append((step * bs, round(vl, 5), round(time.time() - t_train, 1)))
        print(f"  samples {step*bs:>9d} val_loss {vl:.5f}  {time.time()-t_train:.0f}s", flush=True)
        if vl < best[0] - 1e-5:
            best = (vl, {k: v.clone() for k, v in net.state_dict().items()}, step * bs); bad = 0
        else:
            bad += 1
            if bad >= args.patience:
                break
train_time = time.time() - t_train
if best[1] is not None:
    net.load_state_dict(best[1])
fv, ft = np.expm1(predict_log(gva)), np.expm1(predict_log(gte))
res = dict(config=vars(args), n_rows=int(data.N), n_train_windows=n_tr, batch_size=bs, steps_run=step,
           samples_seen=step * bs, best_samples=best[2], train_time_s=round(train_time, 1),
           total_time_s=round(time.time() - t_start, 1), history=hist,
           n_params=sum(p_.numel() for p_ in net.parameters()),
           val=mase_table(data, gva, fv), test=mase_table(data, gte, ft))
os.makedirs("results", exist_ok=True)
json.dump(res, open(f"results/{args.tag}.json", "w"), indent=1)
np.savez_compressed(f"results/{args.tag}_pred.npz", gva=gva, gte=gte, fv=fv, ft=ft)
if args.save:
    torch.save({"state": net.state_dict(), "mu": mu, "sd": sd}, f"results/{args.tag}.pt")
print(f"{args.tag}: val {res['val']['pooled']:.4f} steps " + " ".join(f"{s:.3f}" for s in res['val']['steps'])
      + f" | test {res['test']['pooled']:.4f} | train {train_time:.0f}s, bs {bs}, seen {step*bs}, best@{best[2]}")
