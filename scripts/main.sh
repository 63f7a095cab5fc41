#!/usr/bin/env bash
# Set-up plus the main job on the shipped defaults: builds the release tool and runs it on the corpora
# (--data DIR, or PAML_DATA, or ../shared/corpora). Extra arguments go to `paml`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product paml
if [ $# -gt 0 ]; then
    exec .build/release/paml "$@"
fi
.build/release/paml data stats
