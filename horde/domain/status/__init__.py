"""Read-only views of the horde: performance and model status."""
