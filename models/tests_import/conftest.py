"""Tests of the torch-free checkpoint importer. They run in `make test`, where PyTorch is not
installed: nothing here imports torch (test_checkpoint.py proves the reader does not need it)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
