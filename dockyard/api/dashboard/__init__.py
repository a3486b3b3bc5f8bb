"""The web dashboard served at ``/dashboard``: a static single-page app over the public API."""
