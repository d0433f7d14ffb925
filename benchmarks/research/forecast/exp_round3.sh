#!/bin/bash
# Round 3: 10-ticker robustness tweaks, chosen on sub10 validation (2 seeds each).
export OMP_NUM_THREADS=1
PY=/work/main/.venv/bin/python
FINAL="--weight mase --budget 0"
run() { tag=$1; shift; [ -f results/$tag.json ] || $PY train_lstm.py --tag $tag "$@" 2>&1 | tail -1; }
for s in 0 1; do
run R3_s10_bs256_s$s --set sub10 $FINAL --bs 256 --seed $s
run R3_s10_h32_s$s --set sub10 $FINAL --hidden 32 --seed $s
run R3_s10_lr1e3_s$s --set sub10 $FINAL --lr 1e-3 --seed $s
run R3_s10_bs256_h32_s$s --set sub10 $FINAL --bs 256 --hidden 32 --seed $s
done
