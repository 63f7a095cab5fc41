#!/usr/bin/env bash
# Set-up plus the main job on the shipped defaults: builds the release tool, adapts the shipped PAML
# checkpoint to an example persona from three of its dialogues (k-shot) and answers example inputs.
# Needs no corpora. Extra arguments go to `paml` instead (e.g. `chat`, `data stats`, `bench core`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product paml
if [ $# -gt 0 ]; then
    exec .build/release/paml "$@"
fi
.build/release/paml generate --checkpoint Checkpoints/paml --persona Checkpoints/paml/example-persona.jsonl \
    --input Checkpoints/paml/example-inputs.txt
