"""The HTTP service (FastAPI): thin routes over the accountable use cases."""
