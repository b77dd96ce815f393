from __future__ import annotations

import sys

from reviewtool.cli import main

sys.exit(main())
