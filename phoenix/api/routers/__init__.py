"""One router per resource: command, memory, system."""
