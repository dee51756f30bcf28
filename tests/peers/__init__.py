"""Real peers (ingest server, ffprobe checks) that the kit is tested against."""
