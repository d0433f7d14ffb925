#!/bin/bash
# Round 4: second 2-seed ensemble (seeds 2,3) to check the ensemble is not a lucky pair; fixed SBUX fine-tune.
export OMP_NUM_THREADS=1
PY=/work/main/.venv/bin/python
FINAL="--weight mase --budget 0"
run() { tag=$1; shift; [ -f results/$tag.json ] || $PY train_lstm.py --tag $tag "$@" 2>&1 | tail -1; }
run F2_sbux_finetune --set sbux $FINAL --init F_a40_s0 --lr 3e-4
run F2_sbux_finetune_s1 --set sbux $FINAL --init F_a40_s0 --lr 3e-4 --seed 1
run F_s10_s2 --set sub10 $FINAL --seed 2
run F_s10_s3 --set sub10 $FINAL --seed 3
$PY ensemble.py sub10 E_s10 F_s10_s0 F_s10_s1
$PY ensemble.py sub10 E_s10_b F_s10_s2 F_s10_s3
run F_a40_s2 --set all40 $FINAL --seed 2
run F_a40_s3 --set all40 $FINAL --seed 3
$PY ensemble.py all40 E_a40 F_a40_s0 F_a40_s1
$PY ensemble.py all40 E_a40_b F_a40_s2 F_a40_s3
