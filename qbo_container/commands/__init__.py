"""The bodies of the `qbo` user commands: connect, query, health, sync and demo.

`qbo_container.cli` parses the command line and calls these; each module holds one
command (`connect.py`, `query.py`, ...) and `common.py` what they share: the exit
codes, the one-line errors, opening the stack from the settings, the connection
registry and the rich console.
"""
