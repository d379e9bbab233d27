"""`python -m gridcoop_home.agent`: the same as the `gridcoop-home` command."""

import sys

from gridcoop_home.agent.cli import main

sys.exit(main())
