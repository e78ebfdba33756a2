#!/usr/bin/env bash
# The GPU figures of the README's "On a GPU" section, in one run (JAX backend; no TensorFlow).
#
#   bash tests/gpu_measure.sh OUT_DIR
#
# Needs Python with JAX's CUDA build and Keras 3 (plus keras's small dependencies) importable;
# tlexplorer itself from this checkout. Writes 7 files to OUT_DIR (the device tool brings back
# at most 8), each figure as soon as it is known, so a run cut short keeps what it had:
# gpu.txt, profile.jsonl, bench.jsonl, test_gpu.txt, training.json, demo.txt, errors.log.
set -u
out=${1:?usage: gpu_measure.sh OUT_DIR}
mkdir -p "$out"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$(pwd)"
py=${PYTHON:-python3}
tl() { "$py" -m tlexplorer "$@"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt" 2>&1
"$py" -c "import jax, keras; print(jax.__version__, keras.__version__, jax.devices())" \
    >> "$out/gpu.txt" 2>&1

# QUICK=1: tiny sizes, to check the script itself on a CPU
configs=("150 128 4096" "150 32 2048" "224 128 4096" "224 32 2048"); train_images=3000
demo=(--demo); profile=(--image-size 150 --batch 128 --steps 8)
if [ -n "${QUICK:-}" ]; then
    configs=("48 16 32"); train_images=40; demo=(--demo --preset smoke)
    profile=(--image-size 48 --batch 16 --steps 2)
fi
# Each step has its own time limit, so one slow step cannot eat the others' time.
limited() { local seconds=$1; shift; timeout -k 5 "$seconds" "$@"; }

# 1. what capture costs, part by part, in the goal's case (batch 128, 150 px)
limited 150 "$py" tests/measure_gpu_capture.py "$out/profile.jsonl" "${profile[@]}" \
    > /dev/null 2>> "$out/errors.log"

# 2. capture vs predict, VGG16 transfer model (random weights), the goal's case first
for cfg in "${configs[@]}"; do
    set -- $cfg
    limited 90 "$py" -m tlexplorer bench --image-size "$1" --batch "$2" --images "$3" --json \
        >> "$out/bench.jsonl" 2>> "$out/errors.log"
done

# 3. capture on the GPU gives the CPU's numbers
limited 150 "$py" -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py -s \
    > "$out/test_gpu.txt" 2>&1

# 4. the paper preset's training cost: one epoch of each recipe on 3000 images at 150 px
limited 120 "$py" -m tlexplorer bench --training --images "$train_images" --json \
    > "$out/training.json" 2>> "$out/errors.log"

# 5. the demo suite end to end, in an empty workspace (last: the longest, and cut off first)
ws=$(mktemp -d)
start=$EPOCHREALTIME
limited "${DEMO_LIMIT:-300}" "$py" -m tlexplorer report "${demo[@]}" --workspace "$ws" \
    > "$out/demo.txt" 2>&1
status=$?
echo "exit $status wall_s $("$py" -c "print(round($EPOCHREALTIME - $start, 1))")" >> "$out/demo.txt"
