"""The local forge: GitHub's REST subset and git smart-HTTP, kept under PHOENIX_HOME/forge."""
