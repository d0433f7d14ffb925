#!/bin/bash
# Round 2 of validation experiments (all40), run sequentially after round 1.
export OMP_NUM_THREADS=1
PY=/work/main/.venv/bin/python
run() { tag=$1; shift; [ -f results/$tag.json ] || $PY train_lstm.py --set all40 --tag $tag "$@" 2>&1 | tail -1; }
run a40_pipeline --pipeline --no-cal --head-cal 0 --skip 0 --loss mse
run a40_base_s1 --seed 1
run a40_wmase_s1 --weight mase --seed 1
run a40_wmase_ridge --weight mase --target ridge
run a40_wmase_lr1e3 --weight mase --lr 1e-3
