"""The notification rules, pure: who is told what, on which channel, in which language."""
