"""The face mesh converter's tests: they need the converter's packages (make setup installs
them), never PyTorch, so they live apart from models/tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
