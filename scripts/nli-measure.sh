#!/bin/bash
# Every figure of the shipped NLI scorer's section in Evaluation/nli.md, in order (release build; MiniLM from
# $PAML_MINILM_DIR or the pip package). Usage: scripts/nli-measure.sh [CHECKPOINT] > log
# The accuracies are recorded in the checkpoint's metadata (what `paml score` prints as its signature), so run it
# on a candidate under runs/ and copy the folder to Checkpoints/nli afterwards.
set -euo pipefail
CHECKPOINT=${1:-Checkpoints/nli}
PAML=${PAML:-.build/release/paml}
for on in real test validation persona-test persona-valid; do
    echo "== $on"
    "$PAML" nli evaluate --nli-checkpoint "$CHECKPOINT" --on "$on" --record
done
echo "== real validation"
"$PAML" nli evaluate --nli-checkpoint "$CHECKPOINT" --on real --real Corpora/persona-nli-real-valid.tsv
echo "== speed"
"$PAML" nli speed --nli-checkpoint "$CHECKPOINT"
echo "== rescored responses"
"$PAML" score --nli-checkpoint "$CHECKPOINT" --transcript Evaluation/paml_responses.jsonl
echo "== human rows (all 1,000 ConvAI2 valid dialogues)"
"$PAML" nli human --nli-checkpoint "$CHECKPOINT" --dialogues 0 --seed 1
