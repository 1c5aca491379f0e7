"""I: images and registries."""
