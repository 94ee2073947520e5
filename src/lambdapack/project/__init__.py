"""A project build: many functions and shared layers from one config (docs/config.md)."""
