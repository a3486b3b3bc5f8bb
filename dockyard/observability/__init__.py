"""What Dockyard tells its operators: metrics, the request context of log lines, audit.

It sits beside the domain at the bottom of the layers, so every layer can report
through it; it imports nothing of Dockyard's.
"""
