#!/bin/bash
# The NLI scorer's check on ordinary talk, on validation material only (Evaluation/nli.md, "Tried 2026-12-02"):
# mean C of the responses of the meta-valid personas' ConvAI2 sides against their own persona and against a random
# other meta-valid persona (seed 1), and of the valid voices' own lines against their persona.
# Usage: scripts/nli-gate.sh [CHECKPOINT]   (rule used for v9: own >= +0.10, own - other >= 0.30, voices >= -0.30)
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKPOINT=${1:-Checkpoints/nli}
PAML=${PAML:-.build/release/paml}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PAML" data personas --split valid --dialogues > "$work/personas.jsonl"
python3 - "$work" <<'PY'
import json, random, sys
work = sys.argv[1]
sides = [(c['id'], d) for c in map(json.loads, open(f'{work}/personas.jsonl'))
         for d in c['dialogues'] if d['source'] == 'convai2-valid']
rng = random.Random(1)
with open(f'{work}/own.jsonl', 'w') as own, open(f'{work}/other.jsonl', 'w') as other:
    for cluster, side in sides:
        persona = rng.choice([s for s in sides if s[0] != cluster])[1]['persona']
        for _, response in side['turns']:
            own.write(json.dumps({'speaker': 'own', 'text': response, 'persona': side['persona']}) + '\n')
            other.write(json.dumps({'speaker': 'other', 'text': response, 'persona': persona}) + '\n')
with open(f'{work}/voices.jsonl', 'w') as out:
    for voice in ['librarian', 'robot']:
        for line in open(f'Corpora/voices/valid/{voice}.jsonl'):
            dialogue = json.loads(line)
            for _, said in dialogue['pairs']:
                out.write(json.dumps({'speaker': voice, 'text': said, 'persona': dialogue['persona']}) + '\n')
PY
for t in own other voices; do
    echo "$t: $("$PAML" score --nli-checkpoint "$CHECKPOINT" --transcript "$work/$t.jsonl" | grep 'mean C over')"
done
