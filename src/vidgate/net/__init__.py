"""Network helpers shared by the client and the gateway (SSRF-guarded fetching)."""
