"""``python -m quantlab.live promote|live ...``."""

from __future__ import annotations

import sys

from quantlab.live.commands import main

sys.exit(main())
