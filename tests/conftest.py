"""Shared fixtures. TensorFlow's console chatter is silenced before it is imported."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")
