"""``python -m sim`` runs the landsim command line."""

from .cli import main

raise SystemExit(main())
