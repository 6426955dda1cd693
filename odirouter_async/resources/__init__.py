"""Resource namespaces (``client.models``, ``client.chat``, ...): thin, one HTTP route each."""
