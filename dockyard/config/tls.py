"""The server-side TLS context a certificate and key option pair names."""

from __future__ import annotations

import ssl


def server_context(cert_file: str, key_file: str, section: str) -> ssl.SSLContext | None:
    """A TLS 1.2+ server context for ``[section] ssl_cert_file``/``ssl_key_file``; None
    when neither is set. A process given one without the other, or files that do not
    load, stops with a message naming the options."""
    if not cert_file and not key_file:
        return None
    if not (cert_file and key_file):
        raise SystemExit(f"[{section}] ssl_cert_file and ssl_key_file must be set together.")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(
            f"[{section}] ssl_cert_file {cert_file!r} and ssl_key_file {key_file!r} "
            f"cannot be used: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return context
