"""``python -m tlexplorer`` runs the command line."""

import sys

from tlexplorer.cli import main

sys.exit(main())
