"""The one HTTP request path (transport), bounded responses, multipart bodies, atomic downloads."""
