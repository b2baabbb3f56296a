"""``python -m frechet`` (also under ``torchrun``) runs the ``frechet`` command."""

import sys

from frechet.cli import main

sys.exit(main())
