"""Training: continued pretraining, SFT and RLHF on medloom's own datasets.

A base model is always a local folder; nothing is fetched from a hub, so the hub clients are
put offline before any of them is imported.
"""

import os

for _variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[_variable] = "1"
# The tokenizers library forks worker threads that deadlock under DataLoader workers.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
