"""``python -m frechet`` (also under ``torchrun``) runs the ``frechet`` command.

``python -m`` puts the current folder first on ``sys.path``; it is taken off before any plugin loads, so a file in
the folder a run starts from (a dataset, say) can never stand in for an installed plugin — as with the ``frechet``
script. Code is imported from a path only when the user names it (``--embedder python:module:factory`` with the
module on ``PYTHONPATH``).
"""

import os
import sys

if not sys.flags.safe_path and sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from frechet.cli import main  # after the path is fixed: plugins load from installed packages only

sys.exit(main())
