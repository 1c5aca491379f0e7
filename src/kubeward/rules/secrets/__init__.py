"""S: secrets kept where they do not belong."""
