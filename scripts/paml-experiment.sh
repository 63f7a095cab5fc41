#!/usr/bin/env bash
# Trains the dialogue systems of PAML's Table 1 on the persona meta-dataset and runs the k-shot
# experiment that writes Evaluation/paml.md, paml_kshot.json and paml_kshot.svg. Resumable: rerunning
# continues each training from its checkpoint in runs/. Sizes are PAML's (6 layers, width 300, 4 heads,
# key/value depth 40, filter 50); step counts are set for a 2-core CPU budget (override with env vars).
set -euo pipefail
cd "$(dirname "$0")/.."
DIALOGUE_STEPS=${DIALOGUE_STEPS:-1760}
PERSONA_STEPS=${PERSONA_STEPS:-1760}
PAML_STEPS=${PAML_STEPS:-40}
# The equal-compute control trains the Dialogue model on for as many gradient computations as PAML's
# meta-training makes: 40 meta-steps x 8 personas x (3 inner steps + 1 query step) = 1,280 batches.
CONTROL_STEPS=${CONTROL_STEPS:-$((DIALOGUE_STEPS + PAML_STEPS * 8 * 4))}
PAML=${PAML:-.build/release/paml}
[ -x "$PAML" ] || swift build -c release --product paml

"$PAML" train --system dialogue --out runs/dialogue --steps "$DIALOGUE_STEPS" --validate-every 160 --checkpoint-every 80 --seed 1
"$PAML" train --system dialogue-persona --out runs/dialogue-persona --steps "$PERSONA_STEPS" --validate-every 160 \
    --checkpoint-every 80 --seed 1
# PAML starts from the Dialogue model (same architecture) and meta-trains over personas: first-order MAML,
# inner loop = the k-shot protocol (3 SGD steps at alpha 0.01 on 3 of the persona's dialogues, each gradient
# clipped to norm 2), query = the persona's other dialogues, outer Adam 3e-4. The best checkpoint has the
# lowest geometric mean of the meta-valid 0-, 1- and 3-shot perplexities.
"$PAML" train --system paml --init-from runs/dialogue/best --out runs/paml --steps "$PAML_STEPS" --batch-size 32 \
    --meta-batch-size 8 --inner-steps 3 --inner-gradient-clip 2 --support-dialogues 3 --validation-shots 0 1 3 \
    --validate-every 5 --checkpoint-every 5 --seed 1
# Equal-compute control: the Dialogue model's own run, continued (it resumes from a copy of runs/dialogue).
[ -e runs/dialogue-control ] || cp -r runs/dialogue runs/dialogue-control
"$PAML" train --system dialogue --out runs/dialogue-control --steps "$CONTROL_STEPS" --validate-every 160 \
    --checkpoint-every 160 --seed 1
"$PAML" experiment kshot --dialogue runs/dialogue/best --dialogue-persona runs/dialogue-persona/best \
    --control runs/dialogue-control/best --paml runs/paml/best --shots 0 1 3 5 10 --personas 10 --held-out 2 \
    --adapt-steps 3 --tune-lr 0.001 0.003 0.01 --tune-personas 10 --bleu-turns 2 --out Evaluation --force
