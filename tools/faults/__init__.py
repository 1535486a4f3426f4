"""Fault injection and the reliability scenarios, shared by the tests (``tests/reliability``,
...) and the long run in ``tools/reliability``: a misbehaving TCP proxy, full and damaged
disks, hostile peers, and the scenarios that measure what survives them."""
