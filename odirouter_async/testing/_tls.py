"""TLS for the emulator: a throwaway CA (``trustme``), the server context, and trust for clients.

``trustme`` is an optional dependency (``pip install 'odirouter_async[tls]'``), imported only when
``Emulator(tls=True)`` is started.  The CA certificate is written to a temporary PEM file (for
``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE``) that is removed when the emulator stops.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path
from typing import Any

__all__ = ("TLSMaterial",)

_HOSTS = ("127.0.0.1", "localhost", "::1")


class TLSMaterial:
    """A CA, a server certificate for the loopback names, and the CA's PEM on disk."""

    def __init__(self, extra_hosts: tuple[str, ...] = ()) -> None:
        try:
            import trustme
        except ImportError:
            raise RuntimeError(
                "Emulator(tls=True) needs the optional 'trustme' package: pip install 'odirouter_async[tls]'"
            ) from None
        self._ca: Any = trustme.CA()
        hosts = tuple(dict.fromkeys((*_HOSTS, *extra_hosts)))
        cert = self._ca.issue_cert(*hosts)
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.server_context)
        self._dir = Path(tempfile.mkdtemp(prefix="odirouter-emulator-"))
        self.ca_cert_path = str(self._dir / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_cert_path)

    def client_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` that trusts the emulator's CA (and nothing else)."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_cert_path)
        return context

    def cleanup(self) -> None:
        """Remove the CA's PEM file."""
        shutil.rmtree(self._dir, ignore_errors=True)
