"""Small, typed steps over schema records; I/O sits in thin edge functions."""
