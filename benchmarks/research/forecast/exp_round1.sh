#!/bin/bash
# Round 1 of validation experiments (all40, 1.5M samples each), run sequentially.
export OMP_NUM_THREADS=1
PY=/work/main/.venv/bin/python
run() { tag=$1; shift; [ -f results/$tag.json ] || $PY train_lstm.py --set all40 --tag $tag "$@" 2>&1 | tail -1; }
run a40_mse --loss mse
run a40_huber --loss huber
run a40_wmase --weight mase
run a40_lev_es --level es
run a40_tgt_ridge --target ridge
run a40_noheadcal --head-cal 0
run a40_noskip --skip 0
run a40_nocal_noskip --no-cal --head-cal 0 --skip 0
run a40_L40 --lookback 40
run a40_L60 --lookback 60
run a40_h32 --hidden 32
run a40_h128 --hidden 128
run a40_b3m --budget 3e6
