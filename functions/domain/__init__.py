"""Business rules of the service desk: pure Python, no AWS clients."""
