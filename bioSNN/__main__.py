"""``python -m bioSNN`` is the ``biosnn`` command."""
import sys

from .cli import main

sys.exit(main())
