"""Capture and decoding: packets in, Zeek-compatible records (dns, conn, tls, http, login) out."""
