"""``python -m s2_otel relay ...``."""

from s2_otel.relay import main

main()
