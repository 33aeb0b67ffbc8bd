#!/bin/sh
# Train the Fashion-MNIST models one after the other, niced, alike: EPOCHS epochs
# (default 12) or what fits MINUTES per model, whichever is less, THREADS threads
# (default 1). Uses Debian's interpreter /usr/bin/python3 (torch 1.13 CPU).
#   [EPOCHS=12] [THREADS=2] sh python/train_all.sh [MINUTES] [ALPHAS...]
#   logs: /tmp/train_<alpha>.log
# The shipped alpha-0.5 model: EPOCHS=12 THREADS=2 sh python/train_all.sh 85 0.5
# Outputs: models/octnet_fmnist_a<alpha>.safetensors, models/README.md,
#          tests/fixtures/fmnist_<alpha>_pytorch_top1.npy
cd "$(dirname "$0")/.." || exit 1
MIN=${1:-12}
[ $# -gt 0 ] && shift
ALPHAS=${*:-0.5 0 0.25 0.75}
for a in $ALPHAS; do
    tag=$(printf '%.2f' "$a")
    nice -n 10 /usr/bin/python3 python/train.py --alpha "$a" --max-minutes "$MIN" \
        --epochs "${EPOCHS:-12}" --threads "${THREADS:-1}" \
        --out "models/octnet_fmnist_a$tag.safetensors" > "/tmp/train_$tag.log" 2>&1
    echo "alpha $a exit $?" >> /tmp/train_all.log
done
echo "all done" >> /tmp/train_all.log
