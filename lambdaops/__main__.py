"""``python -m lambdaops`` runs the command-line interface."""

from lambdaops.cli import main

raise SystemExit(main())
