"""``python -m s2_local`` runs the ``s2-local`` command."""

from s2_local.cli import main

main()
