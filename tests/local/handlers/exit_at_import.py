"""A module that exits while it is imported: Runtime.ExitError in the init phase."""

import os

print("exit_at_import: leaving", flush=True)
os._exit(1)
