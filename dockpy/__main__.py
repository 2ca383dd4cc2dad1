"""``python -m dockpy`` runs the command line."""

from dockpy.cli import main

raise SystemExit(main())
