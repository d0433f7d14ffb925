"""Forecast quality and training cost of a config, measured in one run, through the pipeline's own
stage functions (validation, windows, training, evaluation; no Prefect server needed).

    .venv/bin/python benchmarks/bench_forecast.py --data ../shared/data/stocks/history          # 40 tickers
    .venv/bin/python benchmarks/bench_forecast.py --data ../shared/data/stocks/history --every 4  # 10 of them
    .venv/bin/python benchmarks/bench_forecast.py --data ../shared/data/stocks/history --every 4 --first 1  # 10 others
    .venv/bin/python benchmarks/bench_forecast.py --data ../shared/data/stocks/history --seeds 0,1,2  # seed spread
    .venv/bin/python benchmarks/bench_forecast.py --data data/SBUX.csv                          # one short ticker
    .venv/bin/python benchmarks/bench_forecast.py --data data/SBUX.csv --init-from BUNDLE [--no-fine-tune]
    .venv/bin/python benchmarks/bench_forecast.py --data ... --config gru --save-bundle DIR

Prints the test part's MASE of the LSTM and every baseline (LightGBM included), pooled and per
step, the LSTM's ratio to the best baseline, the share of tickers where it beats persistence and
the best baseline, the 80 % interval's test coverage and width, and the seconds spent training
(windows, batch size, samples seen). With --seeds, one training a seed against the same
baselines, and the spread of the ratios over the seeds.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.config import ForecastConfig, load_config  # noqa: E402
from lstm_models.bundle import write_bundle  # noqa: E402
from lstm_models.forecaster import predict_windows  # noqa: E402
from tasks.forecast.baselines import BASELINES, baseline_forecasts  # noqa: E402
from tasks.forecast.evaluate import back_transform, evaluate_forecasts, naive_scales, quantile_parts  # noqa: E402
from tasks.forecast.prepare import load_windows, prepare_windows  # noqa: E402
from tasks.forecast.prices import list_price_files, read_prices  # noqa: E402
from tasks.forecast.train import load_regressor, train_regressor  # noqa: E402
from tasks.forecast.validate import validate_prices  # noqa: E402

METHODS = ("lstm", *BASELINES)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="price file, folder or glob")
    ap.add_argument("--config", default=None, help="config file or name (default, gru, stacked, cnn-lstm, article)")
    ap.add_argument("--every", type=int, default=1, help="keep every k-th file of a folder (sorted by name)")
    ap.add_argument("--first", type=int, default=0, help="with --every: the index of the first file kept")
    ap.add_argument("--init-from", default=None, help="a forecast bundle to start from (relative inputs)")
    ap.add_argument("--no-fine-tune", action="store_true", help="with --init-from: use the model as it is")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--seeds", default=None, help="comma-separated seeds: one training each (overrides --seed)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--save-bundle", default=None, help="write a bundle of the trained model here (for --init-from)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(ForecastConfig, args.config, "forecast")
    if args.seed is not None or args.no_fine_tune:
        train = cfg.train.model_copy(update={k: v for k, v in (("seed", args.seed), ("fine_tune", not args.no_fine_tune))
                                             if v is not None})
        cfg = cfg.model_copy(update={"train": train})

    t0 = time.perf_counter()
    files = list_price_files(args.data)[args.first:: args.every]
    valid, _, report = validate_prices(pd.concat([read_prices(f) for f in files], ignore_index=True), cfg.validation,
                                       raise_on_reject=False)
    t_validate = time.perf_counter() - t0
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [cfg.train.seed]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        windows, series, scalers, info = prepare_windows(valid, cfg.prepare, cfg.split, args.data, args.init_from)
        pq.write_table(windows, tmp / "windows.parquet")
        t_prepare = time.perf_counter() - t0
        w = load_windows(tmp / "windows.parquet")
        t0 = time.perf_counter()
        baselines = baseline_forecasts(series, w, cfg.prepare.horizon, cfg.prepare.offset,
                                       cfg.evaluate.moving_average_window, naive_scales(series))
        t_baselines = time.perf_counter() - t0
        runs = []
        for seed in seeds:
            train_cfg = cfg.train.model_copy(update={"seed": seed})
            (tmp / f"train{seed}").mkdir()
            t0 = time.perf_counter()
            summary = train_regressor(str(tmp / "windows.parquet"), cfg.model, train_cfg, tmp / f"train{seed}",
                                      progress=False, start_bundle=args.init_from)
            t_train = time.perf_counter() - t0
            model = load_regressor(tmp / f"train{seed}" / "model.safetensors", summary["hparams"])
            pred, interval = quantile_parts(back_transform(predict_windows(model, w["x"], w["future"]), w, scalers,
                                                           cfg.prepare.inputs), summary["hparams"].get("quantiles"))
            metrics = evaluate_forecasts(w, pred, series, cfg.prepare.horizon, cfg.prepare.offset,
                                         cfg.evaluate.moving_average_window, interval, baselines)
            runs.append((seed, summary, t_train, metrics))
            if args.save_bundle and seed == seeds[0]:
                save_bundle(Path(args.save_bundle), model, summary, cfg, info, scalers)

    print(f"data {args.data} ({len(files)} file(s), {report['accepted']} rows accepted), config {cfg.name}"
          + (f", started from {args.init_from} ({'fine-tuned' if cfg.train.fine_tune else 'as it is'})"
             if args.init_from else ""))
    print(f"windows train {info['windows']['train']}, val {info['windows']['val']}, test {info['windows']['test']}")
    print(f"seconds: validate {t_validate:.1f}, prepare {t_prepare:.1f}, baselines {t_baselines:.1f} "
          f"(torch threads {torch.get_num_threads()})")
    for seed, summary, t_train, metrics in runs:
        show(seed, summary, t_train, metrics)
    if len(runs) > 1:
        spread(runs)


def show(seed: int, summary: dict, t_train: float, metrics: dict) -> None:
    best = metrics["best_baseline"]
    tickers = sorted(metrics["lstm"]["per_ticker"])
    per = {m: metrics[m]["per_ticker"] for m in METHODS}
    beats_pers = sum(per["lstm"][t]["mase"] < per["persistence"][t]["mase"] for t in tickers)
    beats_best = sum(per["lstm"][t]["mase"] < min(per[b][t]["mase"] for b in BASELINES) for t in tickers)
    chosen = metrics["baseline_settings"]
    print(f"\nseed {seed}: train {t_train:.1f} s, batch {summary['batch_size']}, samples seen "
          f"{summary['samples_seen']:,}, best at epoch {summary['best_epoch']}")
    print(f"test MASE (baseline settings chosen on the {chosen['chosen_on']} part: ES alpha "
          f"{chosen['exp_smoothing_alpha']}, ridge alpha {chosen['ridge_alpha']}, LightGBM trees {chosen['gbm_trees']})")
    print(f"{'step':<8}" + "".join(f"{m:>15}" for m in METHODS) + f"{'LSTM/best':>11}")
    rows = [(k, v) for k, v in metrics["by_step"].items()] + [("pooled", {m: metrics[m]["overall"] for m in METHODS})]
    for k, v in rows:
        print(f"{k:<8}" + "".join(f"{v[m]['mase']:>15.4f}" for m in METHODS) + f"{v['lstm']['mase'] / v[best]['mase']:>11.3f}")
    print(f"best baseline: {best}; the LSTM beats persistence on {beats_pers}/{len(tickers)} tickers "
          f"({beats_pers / len(tickers):.0%}) and the best baseline of each ticker on {beats_best}/{len(tickers)}")
    i = metrics.get("intervals")
    if i:
        print(f"{i['level']:.0%} interval: test coverage {i['coverage']:.3f} (by step "
              f"{', '.join(f'{c:.3f}' for c in i['coverage_by_step'])}), width {i['scaled_width']:.3f} naive MAE, "
              f"median {i['relative_width']:.1%} of the actual")
    print(json.dumps({"seed": seed, "train_seconds": round(t_train, 1),
                      "mase": {m: metrics[m]["overall"]["mase"] for m in METHODS}, "best_baseline": best,
                      "ratio_to_best": metrics["lstm"]["overall"]["mase"] / metrics[best]["overall"]["mase"],
                      "intervals": i and {k: i[k] for k in ("level", "coverage", "scaled_width")},
                      "beats_persistence_share": beats_pers / len(tickers)}))


def spread(runs: list) -> None:
    """The LSTM's ratio to the best baseline over the seeds, pooled and at each step."""
    def ratios(metrics):
        best = metrics["best_baseline"]
        steps = {k: v["lstm"]["mase"] / v[best]["mase"] for k, v in metrics["by_step"].items()}
        return {**steps, "pooled": metrics["lstm"]["overall"]["mase"] / metrics[best]["overall"]["mase"]}
    table = [ratios(m) for *_, m in runs]
    print(f"\nLSTM / best baseline over {len(runs)} seeds: min / mean / max")
    for k in table[0]:
        vals = [t[k] for t in table]
        print(f"{k:<8}{min(vals):>8.3f}{sum(vals) / len(vals):>8.3f}{max(vals):>8.3f}")
    cover = [m["intervals"]["coverage"] for *_, m in runs if m.get("intervals")]
    if cover:
        print(f"interval coverage: {min(cover):.3f} .. {max(cover):.3f}")


def save_bundle(out: Path, model, summary: dict, cfg, info: dict, scalers) -> None:
    shutil.rmtree(out, ignore_errors=True)
    p = cfg.prepare
    write_bundle(out, model.state_dict(), {
        "config.json": {"kind": "forecast", "format": 1, "model": summary["hparams"], "features": p.features,
                        "target": p.target, "lookback": p.lookback, "horizon": p.horizon, "offset": p.offset,
                        "log_volume": p.log_volume, "tickers": info["tickers"], "inputs": p.inputs,
                        "calendar": p.calendar, "open_fill": cfg.validation.open_fill,
                        "pipeline": cfg.model_dump()},
        "scalers.json": scalers.to_dict()}, {}, {})


if __name__ == "__main__":
    main()
