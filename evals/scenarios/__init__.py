"""The built-in scenario suite and the demo scenario (generated on demand, cached under .data/)."""
