#!/bin/bash
# Final recipe runs: robustness (2 seeds x {40, 10 tickers}), timing, SBUX, variants. Sequential, 1 thread.
export OMP_NUM_THREADS=1
PY=/work/main/.venv/bin/python
FINAL="--weight mase --budget 0"   # everything else = train_lstm.py defaults (see REPORT.md recipe)
run() { tag=$1; shift; [ -f results/$tag.json ] || $PY train_lstm.py --tag $tag "$@" 2>&1 | tail -1; }
run F_a40_s0 --set all40 $FINAL --seed 0 --save
run F_a40_s1 --set all40 $FINAL --seed 1
run F_s10_s0 --set sub10 $FINAL --seed 0
run F_s10_s1 --set sub10 $FINAL --seed 1
# SBUX (251 rows, 2021-08..2022-08): alone, zero-shot transfer of the 40-ticker model, fine-tuned transfer
run F_sbux_alone --set sbux $FINAL --seed 0
run F_sbux_alone_s1 --set sbux $FINAL --seed 1
run F_sbux_zeroshot --set sbux $FINAL --init F_a40_s0 --no-train
run F_sbux_finetune --set sbux $FINAL --init F_a40_s0 --lr 3e-4
run F_sbux_finetune_s1 --set sbux $FINAL --init F_a40_s0 --lr 3e-4 --seed 1
# variants (all40, seed 0)
run V_gru --set all40 $FINAL --cell gru
run V_conv --set all40 $FINAL --conv 32
run V_2layer --set all40 $FINAL --layers 2
