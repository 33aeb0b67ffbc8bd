#!/bin/sh
# Train the Fashion-MNIST models one after the other, niced, 1 thread each.
# Uses Debian's interpreter /usr/bin/python3 (torch 1.13 CPU).
#   sh python/train_all.sh [MINUTES] [ALPHAS...]     logs: /tmp/train_<alpha>.log
# Outputs: models/octnet_fmnist_a<alpha>.safetensors, models/README.md,
#          tests/fixtures/fmnist_<alpha>_pytorch_top1.npy
cd "$(dirname "$0")/.." || exit 1
MIN=${1:-12}
[ $# -gt 0 ] && shift
ALPHAS=${*:-0.5 0 0.25 0.75}
for a in $ALPHAS; do
    tag=$(printf '%.2f' "$a")
    nice -n 10 /usr/bin/python3 python/train.py --alpha "$a" --max-minutes "$MIN" --threads 1 \
        --out "models/octnet_fmnist_a$tag.safetensors" > "/tmp/train_$tag.log" 2>&1
    echo "alpha $a exit $?" >> /tmp/train_all.log
done
echo "all done" >> /tmp/train_all.log
