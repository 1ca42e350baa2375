"""System commands: the machine's status, and exec/read/write confined to a workspace folder.

`settings.py` (PHOENIX_SYSTEM_COMMANDS, PHOENIX_WORKSPACE, caps), `workspace.py` (path confinement,
whole-or-nothing writes), `status.py` (host, load, memory, disk, uptime), `execute.py` (argv in the
sandbox, cwd = the workspace).  The core: it imports neither flows nor tasks.
"""
