"""The quarantine review UI (server-rendered; no JavaScript at all)."""
