"""The `dockyard` command line: Docker's verbs and flags over the public Zun v1 API.

A client like any other: it talks HTTP to the API (and the console websocket)
and never imports the service's own layers.
"""
