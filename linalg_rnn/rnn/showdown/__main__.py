"""``python -m linalg_rnn.rnn.showdown STUDY_DIR [DEST] [PAGE]``: publish a study to the docs."""

import sys

from ._page import publish

if len(sys.argv) < 2:
    sys.exit("usage: python -m linalg_rnn.rnn.showdown STUDY_DIR [DEST] [PAGE]")
print(f"wrote {publish(*sys.argv[1:4])}")
