"""Sub-commands of the ``aupmilter`` CLI, one module each."""
