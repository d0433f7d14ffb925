#!/bin/bash
# Round 5: lookback 60 (re-run of the one stopped in round 1), base recipe.
export OMP_NUM_THREADS=1
PY=/work/main/.venv/bin/python
run() { tag=$1; shift; [ -f results/$tag.json ] || $PY train_lstm.py --tag $tag "$@" 2>&1 | tail -1; }
run a40_L60 --set all40 --lookback 60
