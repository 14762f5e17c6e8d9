#!/usr/bin/env bash
# Makes .venv-py (gitignored) with the Python SDK and what its tests use: pytest, numpy and torch
# (CPU) from the machine's package index; tensorboard and PyYAML for the PyTorch example trainer
# (apps/example-train-torch); and hatchling, with which `pnpm bundle` builds the wheel without
# pip's build isolation. `node scripts/run-tests.mjs` runs the Python suite with
# it when it exists. Safe to run again: it reinstalls the SDK from ./packages/sdk-python.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 --version
if [ ! -x .venv-py/bin/python ]; then
  python3 -m venv .venv-py
fi
# --retries 1: an unreachable default index then costs seconds, not minutes, while the local
# indexes configured for pip answer.
PIP=(.venv-py/bin/python -m pip install --quiet --retries 1 --disable-pip-version-check)
"${PIP[@]}" pytest numpy torch tensorboard PyYAML hatchling
"${PIP[@]}" --force-reinstall --no-deps ./packages/sdk-python
.venv-py/bin/python -c "import swanlog, numpy, torch, tensorboard, yaml; print('python sdk', swanlog.__version__, 'numpy', numpy.__version__, 'torch', torch.__version__, 'tensorboard', tensorboard.__version__, 'PyYAML', yaml.__version__)"
