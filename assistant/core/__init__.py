"""Below both wings: settings, errors, the runtime environment, the remote-call policy and the
text analysis every stage shares. Imports nothing else of this project."""
