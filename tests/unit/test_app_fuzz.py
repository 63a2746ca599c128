"""Random and truncated input never raises out of the pure parsers and analysers."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wardwatch.ingest.app.http import HttpAnalyser
from wardwatch.ingest.app.login import FtpAnalyser, ImapAnalyser, Pop3Analyser, SmtpAnalyser, TelnetAnalyser
from wardwatch.ingest.app.quic import KeyCache, QuicError, decrypt_initials
from wardwatch.ingest.app.tls import parse_client_hello

from tests.unit.test_app_quic import rfc_client_initial
from tests.unit.test_app_tls import client_hello

HELLO = client_hello()[5:]
INITIAL = rfc_client_initial()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(HELLO)), st.binary(max_size=40), st.integers(0, len(HELLO) - 1))
def test_client_hello_truncated_or_corrupted(cut, junk, at):
    parse_client_hello(HELLO[:cut])
    parse_client_hello(HELLO[:at] + junk + HELLO[at + len(junk) :])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(INITIAL)), st.integers(0, len(INITIAL) - 1), st.integers(1, 255))
def test_quic_initial_truncated_or_flipped(cut, at, xor):
    for data in (INITIAL[:cut], INITIAL[:at] + bytes([INITIAL[at] ^ xor]) + INITIAL[at + 1 :]):
        with contextlib.suppress(QuicError):
            decrypt_initials(data, KeyCache())


@pytest.mark.parametrize(
    "factory", [HttpAnalyser, FtpAnalyser, Pop3Analyser, ImapAnalyser, SmtpAnalyser, TelnetAnalyser]
)
@settings(max_examples=100, deadline=None)
@given(chunks=st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=12))
def test_analysers_accept_any_bytes(factory, chunks):
    an = factory()
    for from_client, data in chunks:
        for rec in an.on_data(from_client, data, 1.0):
            assert rec["_path"] in ("http", "login")
    an.finish()
