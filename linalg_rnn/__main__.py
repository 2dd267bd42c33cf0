"""``python -m linalg_rnn`` runs the ``linalg-rnn`` command line."""

import sys

from .cli import main

sys.exit(main())
