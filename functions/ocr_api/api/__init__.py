"""HTTP: reading API Gateway requests and writing each API dialect's responses."""
